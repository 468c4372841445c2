//! `tcp-env`: the environments the kit's runs happen in, beside this machine.
//!
//! * [`service`] — where the Docker Engine API is (`DOCKER_HOST`, the Docker socket,
//!   a Podman service), and Podman's API service started with the configuration that
//!   works without systemd (`tcp env service start|stop|status`).
//! * [`engine`] — containers through that API (bollard): create with limits and no
//!   network or writable root unless asked, exec, copy in and out, stop, remove; every
//!   container labelled `tcp.managed=true` and removed on error, on SIGINT/SIGTERM, or
//!   by the next run after a SIGKILL.
//! * [`image`] — local images from a root file system (a directory, or
//!   `debootstrap --variant=minbase`), cached (`tcp env image build`, `tcp env ls|rm`).
//! * [`tools`] — the tools of an image (`tcp discover --container`), with the gate's
//!   own discovery and rules, `--help` run inside the image's containers; `tcp db diff`.
//!
//! Depends on `tcp-spec` and `tcp-gate` among the kit's crates.

pub mod engine;
pub mod image;
pub mod service;
pub mod tools;

pub use engine::{
    Container, ContainerSpec, Engine, EnvError, ExecOptions, ExecOutput, Limits, Mount,
};
pub use service::Endpoint;

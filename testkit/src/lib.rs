//! `tcp-testkit`: test support shared by the kit's crates.
//!
//! * [`golden`]: checked-in files that a test regenerates and compares (the shipped
//!   RTL in `rtl/`, the board constraints in `constraints/`), rewritten in place with
//!   `TCP_UPDATE_GOLDEN=1`: one helper and one variable for every golden file.
//!
//! Depends on no crate of the kit. It is a dev-dependency only (of `tcp-gen` and
//! `tcp-fpga` today): no library or binary of the kit links it.

pub mod golden;

//! A reply whose length field is corrupted on the way promises up to 6 KB that never
//! come. The host must give the partial frame up when the line goes quiet; before it
//! did, the parser swallowed the small replies to every retransmission behind it and
//! the link timed out (seen as a rare failure of the fault-injection test in
//! tcp/tests/link.rs).

use std::collections::VecDeque;
use std::io::{Error, ErrorKind, Read, Write};
use std::time::Duration;
use tcp_link::{Link, LinkOptions, Transport};
use tcp_spec::link::{DeviceModel, Info, OVERHEAD, PROTOCOL_VERSION};
use tcp_spec::{DescriptorBytes, Profile};

/// The reference device behind an in-memory line; `corrupt` sets a bit in the length
/// field of the n-th reply frame the host reads.
struct Line {
    device: DeviceModel,
    to_host: VecDeque<u8>,
    reads_with_data: usize,
    corrupt: Option<usize>,
}

impl Read for Line {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.to_host.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
            return Err(Error::new(ErrorKind::TimedOut, "nothing yet"));
        }
        // One reply frame per read, as a UART delivers a burst.
        let n = buf.len().min(self.to_host.len());
        let n = n.min(frame_len(&self.to_host));
        for (i, b) in self.to_host.drain(..n).enumerate() {
            buf[i] = b;
        }
        if self.corrupt == Some(self.reads_with_data) && n > 4 {
            buf[3] |= 0x10; // length high byte: at least 4096 bytes promised
        }
        self.reads_with_data += 1;
        Ok(n)
    }
}

/// The length of the frame at the front (start, cmd, seq, len16, payload, crc16).
fn frame_len(q: &VecDeque<u8>) -> usize {
    if q.len() < 5 {
        return q.len();
    }
    OVERHEAD + ((q[3] as usize) << 8 | q[4] as usize)
}

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let out = self.device.receive(buf);
        self.to_host.extend(out);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Transport for Line {
    fn set_read_timeout(&mut self, _: Duration) -> std::io::Result<()> {
        Ok(())
    }
}

fn info() -> Info {
    Info {
        protocol_version: PROTOCOL_VERSION,
        lanes: 1,
        stages: 1,
        profile: Profile::Sum16,
        clock_hz: 12_000_000,
        baud: 3_000_000,
        build_id: 1,
    }
}

fn descriptors(n: usize) -> Vec<DescriptorBytes> {
    (0..n)
        .map(|i| {
            let mut d = [0u8; 24];
            d[..8].copy_from_slice(&(i as u64).to_be_bytes());
            d
        })
        .collect()
}

#[test]
fn a_corrupted_reply_length_is_given_up_and_every_result_arrives_once() {
    let line = Line {
        device: DeviceModel::new(info()),
        to_host: VecDeque::new(),
        reads_with_data: 0,
        corrupt: Some(2),
    };
    // One descriptor per frame: 9-byte replies, hundreds of which a 4 KB length
    // would swallow, more than the attempts allow.
    let opts = LinkOptions {
        batch: 1,
        timeout: Duration::from_millis(40),
        attempts: 8,
        ..Default::default()
    };
    let mut link = Link::new(line, opts).unwrap();
    let data = descriptors(64);
    let got = link.validate(&data).expect("the link recovers");
    assert_eq!(got.len(), data.len());
    assert_eq!(link.counters.abandoned_frames, 1, "{:?}", link.counters);
    assert!(link.counters.retransmissions >= 1);
    let s = link.into_inner().device.stats();
    assert_eq!(s.processed, 64, "every descriptor validated exactly once");
    assert!(
        s.replays >= 1,
        "the lost reply was answered from the window"
    );
    // The reference verdicts: the same device model, fed cleanly.
    let mut clean = Link::new(
        Line {
            device: DeviceModel::new(info()),
            to_host: VecDeque::new(),
            reads_with_data: 0,
            corrupt: None,
        },
        opts,
    )
    .unwrap();
    assert_eq!(clean.validate(&data).unwrap(), got);
    assert_eq!(clean.counters.abandoned_frames, 0);
}

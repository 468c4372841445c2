//! Board data: one declarative TOML file per board under `boards/`, and the table that
//! maps an iCE40 device to its nextpnr-ice40 flags and resources.
//!
//! The three shipped boards are embedded in the binary, so `tcp synth --board icebreaker`
//! works from any directory; `--board path/to/board.toml` loads another file. The pin
//! constraints (`constraints/<board>.pcf`) are rendered from the same data
//! ([`Board::pcf`]); a test checks that the checked-in files are up to date.

use super::SynthError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The boards that ship with the kit: (name, TOML text).
pub const SHIPPED: [(&str, &str); 3] = [
    ("icebreaker", include_str!("../../boards/icebreaker.toml")),
    ("alchitry_cu", include_str!("../../boards/alchitry_cu.toml")),
    ("icestick", include_str!("../../boards/icestick.toml")),
];

/// One board, as its TOML file describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Board {
    /// Short name, used for folders (`build/<name>/...`) and `--board`.
    pub name: String,
    pub title: String,
    pub vendor: String,
    /// iCE40 device as Lattice names it, e.g. `iCE40UP5K`.
    pub device: String,
    /// Package as Lattice names it, e.g. `SG48`.
    pub package: String,
    /// Where the pin numbers come from.
    #[serde(default)]
    pub sources: Vec<String>,
    pub clock: Clock,
    pub uart: Uart,
    #[serde(default)]
    pub reset: Option<Button>,
    pub leds: Leds,
    /// The clock of the UART board top, when it is not the oscillator's.
    #[serde(default)]
    pub link: Option<LinkClock>,
}

/// `[link]`: the board top runs from the iCE40 PLL at `clock_mhz` (see
/// [`super::pll`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkClock {
    pub clock_mhz: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clock {
    #[serde(default = "default_clk_port")]
    pub port: String,
    pub pin: String,
    /// Oscillator frequency in MHz.
    pub mhz: f64,
}

/// The on-board FTDI bridge's UART, seen from the FPGA: `rx` is an input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uart {
    #[serde(default = "default_rx_port")]
    pub rx_port: String,
    #[serde(default = "default_tx_port")]
    pub tx_port: String,
    pub rx: String,
    pub tx: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Button {
    pub port: String,
    pub pin: String,
    #[serde(default)]
    pub active_low: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Leds {
    #[serde(default = "default_led_port")]
    pub port: String,
    pub pins: Vec<String>,
    #[serde(default)]
    pub active_low: bool,
}

fn default_clk_port() -> String {
    "clk".into()
}
fn default_rx_port() -> String {
    "uart_rx".into()
}
fn default_tx_port() -> String {
    "uart_tx".into()
}
fn default_led_port() -> String {
    "led".into()
}

/// What the device table knows about an iCE40 part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Device {
    /// Lattice's name, e.g. `iCE40HX8K`.
    pub name: &'static str,
    /// The nextpnr-ice40 device flag, e.g. `--hx8k`.
    pub nextpnr_flag: &'static str,
    /// Logic cells (one LUT4 + one flip-flop + carry each).
    pub logic_cells: u32,
    /// 4 kbit block RAMs (SB_RAM40_4K).
    pub ram_blocks: u32,
    /// Packages nextpnr knows for the part (lower case, as `--package` takes them).
    pub packages: &'static [&'static str],
}

/// The device table: iCE40 part → nextpnr flags and resources (Lattice iCE40 family
/// data sheets; package names as nextpnr-ice40 spells them).
pub const DEVICES: &[Device] = &[
    Device {
        name: "iCE40LP1K",
        nextpnr_flag: "--lp1k",
        logic_cells: 1280,
        ram_blocks: 16,
        packages: &[
            "swg16tr", "cm36", "cm49", "cm81", "cm121", "qn84", "cb81", "cb121",
        ],
    },
    Device {
        name: "iCE40HX1K",
        nextpnr_flag: "--hx1k",
        logic_cells: 1280,
        ram_blocks: 16,
        packages: &["vq100", "tq144"],
    },
    Device {
        name: "iCE40LP8K",
        nextpnr_flag: "--lp8k",
        logic_cells: 7680,
        ram_blocks: 32,
        packages: &["cm81", "cm81:4k", "cm121", "cm121:4k", "cm225", "cm225:4k"],
    },
    Device {
        name: "iCE40HX4K",
        nextpnr_flag: "--hx4k",
        logic_cells: 3520,
        ram_blocks: 20,
        packages: &["cb132", "tq144", "bg121"],
    },
    Device {
        name: "iCE40HX8K",
        nextpnr_flag: "--hx8k",
        logic_cells: 7680,
        ram_blocks: 32,
        packages: &["cm225", "cb132", "bg121", "ct256"],
    },
    Device {
        name: "iCE40UP3K",
        nextpnr_flag: "--up3k",
        logic_cells: 2800,
        ram_blocks: 20,
        packages: &["sg48", "uwg30"],
    },
    Device {
        name: "iCE40UP5K",
        nextpnr_flag: "--up5k",
        logic_cells: 5280,
        ram_blocks: 30,
        packages: &["sg48", "uwg30"],
    },
];

/// Looks a device up by Lattice name (case-insensitive).
pub fn device(name: &str) -> Option<&'static Device> {
    DEVICES.iter().find(|d| d.name.eq_ignore_ascii_case(name))
}

impl Board {
    /// Parses and checks a board file.
    pub fn from_toml(text: &str, origin: &str) -> Result<Board, SynthError> {
        let board: Board = toml::from_str(text).map_err(|e| SynthError::Board {
            board: origin.to_string(),
            message: e.to_string(),
        })?;
        board.check(origin)?;
        Ok(board)
    }

    /// A shipped board by name, or a board file by path (anything ending in `.toml`).
    pub fn load(name_or_path: &str) -> Result<Board, SynthError> {
        if name_or_path.ends_with(".toml") {
            let path = Path::new(name_or_path);
            let text = std::fs::read_to_string(path).map_err(|e| SynthError::Io {
                path: path.to_path_buf(),
                source: e,
            })?;
            return Board::from_toml(&text, name_or_path);
        }
        let key = name_or_path.to_ascii_lowercase().replace('-', "_");
        match SHIPPED.iter().find(|(n, _)| *n == key) {
            Some((n, text)) => Board::from_toml(text, &format!("boards/{n}.toml")),
            // Bad usage rather than a bad board file; it reads as the Board error did.
            None => Err(SynthError::Usage(format!(
                "board {name_or_path}: unknown board (shipped: {}; or give a path to a .toml file)",
                SHIPPED.map(|(n, _)| n).join(", ")
            ))),
        }
    }

    /// All shipped boards.
    pub fn shipped() -> Vec<Board> {
        SHIPPED
            .iter()
            .map(|(n, t)| Board::from_toml(t, n).expect("shipped board files are valid"))
            .collect()
    }

    fn check(&self, origin: &str) -> Result<(), SynthError> {
        let bad = |message: String| SynthError::Board {
            board: origin.to_string(),
            message,
        };
        let dev = device(&self.device).ok_or_else(|| {
            bad(format!(
                "unknown device `{}` (known: {})",
                self.device,
                DEVICES
                    .iter()
                    .map(|d| d.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        let pkg = self.package.to_ascii_lowercase();
        if !dev.packages.contains(&pkg.as_str()) {
            return Err(bad(format!(
                "package `{}` is not one nextpnr knows for {} ({})",
                self.package,
                dev.name,
                dev.packages.join(", ")
            )));
        }
        if !(self.clock.mhz > 0.0 && self.clock.mhz < 1000.0) {
            return Err(bad(format!("clock {} MHz is out of range", self.clock.mhz)));
        }
        if self.leds.pins.is_empty() {
            return Err(bad("the bench top needs at least one LED".into()));
        }
        let mut pins: Vec<&str> = vec![&self.clock.pin, &self.uart.rx, &self.uart.tx];
        pins.extend(self.leds.pins.iter().map(String::as_str));
        if let Some(r) = &self.reset {
            pins.push(&r.pin);
        }
        let mut seen = std::collections::HashSet::new();
        for p in pins {
            if !seen.insert(p) {
                return Err(bad(format!("pin {p} is assigned twice")));
            }
        }
        self.link_pll()
            .map_err(|e| bad(format!("[link] clock_mhz: {e}")))?;
        Ok(())
    }

    /// The PLL that makes the board top's clock, if the board file asks for one.
    pub fn link_pll(&self) -> Result<Option<super::pll::Pll>, String> {
        self.link
            .as_ref()
            .map(|l| super::pll::Pll::for_output(self.clock.mhz, l.clock_mhz))
            .transpose()
    }

    /// The clock the UART board top runs at, Hz: the PLL's output, or the oscillator.
    pub fn link_clock_hz(&self) -> u64 {
        match self.link_pll().expect("checked at load") {
            Some(p) => p.out_hz(),
            None => (self.clock.mhz * 1e6).round() as u64,
        }
    }

    /// What the pin wrapper around the board top needs of this board.
    pub fn pins(&self) -> tcp_gen::wrapper::BoardPins {
        tcp_gen::wrapper::BoardPins {
            title: self.title.clone(),
            clk_port: self.clock.port.clone(),
            rx_port: self.uart.rx_port.clone(),
            tx_port: self.uart.tx_port.clone(),
            led_port: self.leds.port.clone(),
            leds: self.leds.pins.len(),
            leds_active_low: self.leds.active_low,
            reset: self.reset.as_ref().map(|b| (b.port.clone(), b.active_low)),
            pll: self
                .link_pll()
                .expect("checked at load")
                .map(|p| p.instance()),
        }
    }

    /// The device-table entry (checked at load).
    pub fn device_info(&self) -> &'static Device {
        device(&self.device).expect("checked at load")
    }

    /// nextpnr-ice40 arguments selecting the part: e.g. `--up5k --package sg48`.
    pub fn nextpnr_device_args(&self) -> Vec<String> {
        vec![
            self.device_info().nextpnr_flag.to_string(),
            "--package".to_string(),
            self.package.to_ascii_lowercase(),
        ]
    }

    /// The board's pin constraints in nextpnr's PCF dialect. Every line carries
    /// `-nowarn`, so a top that uses only some of the resources (the bench top uses the
    /// clock, the LEDs and the UART TX) can take the file as it is.
    pub fn pcf(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "# {} ({}): {}-{}, {} MHz clock.\n",
            self.title, self.vendor, self.device, self.package, self.clock.mhz
        ));
        s.push_str(&format!(
            "# Generated from boards/{}.toml by `tcp synth` (fpga/src/board.rs) - do not edit;\n",
            self.name
        ));
        s.push_str(
            "# regenerate with: TCP_UPDATE_GOLDEN=1 cargo test -p tcp-fpga --test synth_boards\n",
        );
        for src in &self.sources {
            s.push_str(&format!("# Source: {src}\n"));
        }
        s.push('\n');
        s.push_str(&format!("# Clock, {} MHz\n", self.clock.mhz));
        s.push_str(&format!(
            "set_io -nowarn {} {}\n",
            self.clock.port, self.clock.pin
        ));
        s.push_str("\n# UART of the FTDI bridge (rx: host -> FPGA, tx: FPGA -> host)\n");
        s.push_str(&format!(
            "set_io -nowarn {} {}\n",
            self.uart.rx_port, self.uart.rx
        ));
        s.push_str(&format!(
            "set_io -nowarn {} {}\n",
            self.uart.tx_port, self.uart.tx
        ));
        if let Some(r) = &self.reset {
            s.push_str(&format!(
                "\n# Reset button{}\n",
                if r.active_low { " (active low)" } else { "" }
            ));
            s.push_str(&format!("set_io -nowarn {} {}\n", r.port, r.pin));
        }
        s.push_str(&format!(
            "\n# LEDs{}\n",
            if self.leds.active_low {
                " (active low)"
            } else {
                ""
            }
        ));
        for (i, p) in self.leds.pins.iter().enumerate() {
            s.push_str(&format!("set_io -nowarn {}[{i}] {p}\n", self.leds.port));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_pins_use_the_pll_only_where_the_board_file_asks() {
        for b in Board::shipped() {
            let v = tcp_gen::wrapper::board_pins(&b.pins());
            assert_eq!(v.contains("SB_PLL40_CORE"), b.link.is_some(), "{}", b.name);
            let clk = if b.link.is_some() {
                tcp_gen::wrapper::LINK_CLK
            } else {
                &b.clock.port
            };
            assert!(v.contains(&format!(".clk({clk})")), "{v}");
            match &b.reset {
                Some(r) => {
                    assert!(v.contains(&format!(".PACKAGE_PIN({})", r.port)), "{v}")
                }
                None if b.link.is_none() => assert!(v.contains(".reset(1'b0)"), "{v}"),
                None => {}
            }
        }
    }

    #[test]
    fn shipped_boards_load_and_map_to_nextpnr_flags() {
        let flags: Vec<_> = Board::shipped()
            .iter()
            .map(|b| (b.name.clone(), b.nextpnr_device_args().join(" ")))
            .collect();
        assert_eq!(
            flags,
            [
                (
                    "icebreaker".to_string(),
                    "--up5k --package sg48".to_string()
                ),
                (
                    "alchitry_cu".to_string(),
                    "--hx8k --package cb132".to_string()
                ),
                ("icestick".to_string(), "--hx1k --package tq144".to_string()),
            ]
        );
    }

    #[test]
    fn board_names_are_forgiving_and_unknown_ones_say_what_exists() {
        assert_eq!(Board::load("Alchitry-Cu").unwrap().device, "iCE40HX8K");
        let e = Board::load("nope").unwrap_err().to_string();
        assert!(e.contains("icebreaker") && e.contains("icestick"), "{e}");
    }

    #[test]
    fn bad_board_files_are_rejected_with_the_reason() {
        let text = SHIPPED[0].1.replace("\"SG48\"", "\"TQ144\"");
        let e = Board::from_toml(&text, "x.toml").unwrap_err().to_string();
        assert!(e.contains("package `TQ144`"), "{e}");
        let text = SHIPPED[0].1.replace("pin = \"10\"", "pin = \"35\"");
        let e = Board::from_toml(&text, "x.toml").unwrap_err().to_string();
        assert!(e.contains("pin 35 is assigned twice"), "{e}");
    }

    #[test]
    fn pcf_has_every_pin_with_nowarn() {
        let b = Board::load("icebreaker").unwrap();
        let pcf = b.pcf();
        for line in [
            "set_io -nowarn clk 35",
            "set_io -nowarn uart_rx 6",
            "set_io -nowarn uart_tx 9",
            "set_io -nowarn rst_n 10",
            "set_io -nowarn led[0] 11",
            "set_io -nowarn led[1] 37",
        ] {
            assert!(pcf.lines().any(|l| l == line), "missing `{line}` in\n{pcf}");
        }
    }
}

//! Board data: one declarative TOML file per board under `boards/`, and the table that
//! maps a device (iCE40 or ECP5) to its family, nextpnr flags and resources.
//!
//! The shipped boards are embedded in the binary, so `tcp synth --board icebreaker`
//! works from any directory; `--board path/to/board.toml` loads another file. The pin
//! constraints (`constraints/<board>.pcf` for iCE40, `constraints/<board>.lpf` for
//! ECP5) are rendered from the same data ([`Board::pcf`], [`Board::lpf`]); a test
//! checks that the checked-in files are up to date.

use super::pll::{Ecp5Pll, LinkPll, Pll};
use super::SynthError;
use serde::{Deserialize, Serialize};
use std::path::Path;
use tcp_eda::{Tool, Toolchain};

/// The boards that ship with the kit: (name, TOML text).
pub const SHIPPED: [(&str, &str); 5] = [
    ("icebreaker", include_str!("../../boards/icebreaker.toml")),
    ("alchitry_cu", include_str!("../../boards/alchitry_cu.toml")),
    ("icestick", include_str!("../../boards/icestick.toml")),
    ("ulx3s", include_str!("../../boards/ulx3s.toml")),
    (
        "colorlight_i5",
        include_str!("../../boards/colorlight_i5.toml"),
    ),
];

/// An FPGA family: the synthesis command, the place-and-route tool, the packer and the
/// pin-constraint format that go with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Lattice iCE40: `synth_ice40`, nextpnr-ice40, icepack, PCF.
    Ice40,
    /// Lattice ECP5: `synth_ecp5`, nextpnr-ecp5, ecppack, LPF.
    Ecp5,
}

impl Family {
    pub const fn name(self) -> &'static str {
        match self {
            Family::Ice40 => "ice40",
            Family::Ecp5 => "ecp5",
        }
    }

    /// The Yosys command that maps to the family (`synth_ice40`, `synth_ecp5`).
    pub const fn synth_command(self) -> &'static str {
        match self {
            Family::Ice40 => "synth_ice40",
            Family::Ecp5 => "synth_ecp5",
        }
    }

    /// The place-and-route tool.
    pub const fn nextpnr(self) -> Tool {
        match self {
            Family::Ice40 => Tool::NextpnrIce40,
            Family::Ecp5 => Tool::NextpnrEcp5,
        }
    }

    /// The toolchain a run on this family uses when neither `--toolchain` nor
    /// `$TCP_TOOLCHAIN` chooses one: on iCE40 [`Toolchain::DEFAULT`] (chosen by the
    /// measurement in docs/synthesis.md), on ECP5 `yowasp`, the one toolchain here that
    /// has nextpnr-ecp5 (Debian 12 packages none).
    pub const fn default_toolchain(self) -> Toolchain {
        match self {
            Family::Ice40 => Toolchain::DEFAULT,
            Family::Ecp5 => Toolchain::Yowasp,
        }
    }

    /// The bitstream packer.
    pub const fn packer(self) -> Tool {
        match self {
            Family::Ice40 => Tool::Icepack,
            Family::Ecp5 => Tool::Ecppack,
        }
    }

    /// The flow's tools, in the order they run.
    pub const fn tools(self) -> [Tool; 3] {
        [Tool::Yosys, self.nextpnr(), self.packer()]
    }

    /// The pin-constraint file's extension and nextpnr's option for it.
    pub const fn constraints(self) -> (&'static str, &'static str) {
        match self {
            Family::Ice40 => ("pcf", "--pcf"),
            Family::Ecp5 => ("lpf", "--lpf"),
        }
    }

    /// The library of the primitives the pin wrapper instantiates (`read_verilog -lib`):
    /// iCE40 `SB_IO`/`SB_PLL40_CORE` from the simulation models, the ECP5 `EHXPLLL` from
    /// the black boxes.
    pub const fn cells_sim(self) -> &'static str {
        match self {
            Family::Ice40 => "+/ice40/cells_sim.v",
            Family::Ecp5 => "+/ecp5/cells_bb.v",
        }
    }

    /// nextpnr's utilization names of (logic cells, block RAMs, I/O, global clocks).
    pub const fn resource_names(self) -> [&'static str; 4] {
        match self {
            Family::Ice40 => ["ICESTORM_LC", "ICESTORM_RAM", "SB_IO", "SB_GB"],
            Family::Ecp5 => ["TRELLIS_COMB", "DP16KD", "TRELLIS_IO", "DCCA"],
        }
    }

    /// Whether the bench wrapper builds its source ROM from LUTs
    /// (`tcp_gen::wrapper::WrapperSpec::rom_in_logic`): on ECP5 the block RAM read
    /// without its output register would be the bench's critical path.
    pub const fn bench_rom_in_logic(self) -> bool {
        matches!(self, Family::Ecp5)
    }

    /// The pin wrapper's view of the family (`tcp-gen`).
    pub const fn wrapper(self) -> tcp_gen::wrapper::Family {
        match self {
            Family::Ice40 => tcp_gen::wrapper::Family::Ice40,
            Family::Ecp5 => tcp_gen::wrapper::Family::Ecp5,
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

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
    /// ECP5: the I/O standard of every pin in the LPF (default `LVCMOS33`).
    #[serde(default)]
    pub io_type: Option<String>,
}

/// `[link]`: the board top runs from the family's PLL at `clock_mhz` (see
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

/// What the device table knows about a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Device {
    /// Lattice's name, e.g. `iCE40HX8K`, `LFE5U-85F`.
    pub name: &'static str,
    pub family: Family,
    /// The nextpnr device flag, e.g. `--hx8k`, `--85k`.
    pub nextpnr_flag: &'static str,
    /// Logic cells: iCE40, one LUT4 + one flip-flop + carry each; ECP5, LUT4s (each
    /// with a flip-flop beside it, two per slice).
    pub logic_cells: u32,
    /// Block RAMs: iCE40 4 kbit SB_RAM40_4K; ECP5 18 kbit DP16KD (sysMEM EBR).
    pub ram_blocks: u32,
    /// Packages nextpnr knows for the part (lower case, as `--package` takes them).
    pub packages: &'static [&'static str],
}

/// The iCE40 parts (Lattice iCE40 family data sheets; package names as nextpnr-ice40
/// spells them).
const ICE40: [Device; 7] = [
    Device {
        family: Family::Ice40,
        name: "iCE40LP1K",
        nextpnr_flag: "--lp1k",
        logic_cells: 1280,
        ram_blocks: 16,
        packages: &[
            "swg16tr", "cm36", "cm49", "cm81", "cm121", "qn84", "cb81", "cb121",
        ],
    },
    Device {
        family: Family::Ice40,
        name: "iCE40HX1K",
        nextpnr_flag: "--hx1k",
        logic_cells: 1280,
        ram_blocks: 16,
        packages: &["vq100", "tq144"],
    },
    Device {
        family: Family::Ice40,
        name: "iCE40LP8K",
        nextpnr_flag: "--lp8k",
        logic_cells: 7680,
        ram_blocks: 32,
        packages: &["cm81", "cm81:4k", "cm121", "cm121:4k", "cm225", "cm225:4k"],
    },
    Device {
        family: Family::Ice40,
        name: "iCE40HX4K",
        nextpnr_flag: "--hx4k",
        logic_cells: 3520,
        ram_blocks: 20,
        packages: &["cb132", "tq144", "bg121"],
    },
    Device {
        family: Family::Ice40,
        name: "iCE40HX8K",
        nextpnr_flag: "--hx8k",
        logic_cells: 7680,
        ram_blocks: 32,
        packages: &["cm225", "cb132", "bg121", "ct256"],
    },
    Device {
        family: Family::Ice40,
        name: "iCE40UP3K",
        nextpnr_flag: "--up3k",
        logic_cells: 2800,
        ram_blocks: 20,
        packages: &["sg48", "uwg30"],
    },
    Device {
        family: Family::Ice40,
        name: "iCE40UP5K",
        nextpnr_flag: "--up5k",
        logic_cells: 5280,
        ram_blocks: 30,
        packages: &["sg48", "uwg30"],
    },
];

/// The device table: part → family, nextpnr flags and resources (Lattice iCE40 family
/// data sheets; for ECP5 the ECP5 and ECP5-5G family data sheet FPGA-DS-02012, LUTs and
/// EBR per part). Package names are checked lower-case; nextpnr-ecp5 takes them upper
/// case.
pub const DEVICES: &[Device] = &[
    ICE40[0],
    ICE40[1],
    ICE40[2],
    ICE40[3],
    ICE40[4],
    ICE40[5],
    ICE40[6],
    Device {
        family: Family::Ecp5,
        name: "LFE5U-12F",
        nextpnr_flag: "--12k",
        logic_cells: 12_096,
        ram_blocks: 32,
        packages: &["cabga256", "cabga381", "csfbga285"],
    },
    Device {
        family: Family::Ecp5,
        name: "LFE5U-25F",
        nextpnr_flag: "--25k",
        logic_cells: 24_288,
        ram_blocks: 56,
        packages: &["cabga256", "cabga381", "csfbga285"],
    },
    Device {
        family: Family::Ecp5,
        name: "LFE5U-45F",
        nextpnr_flag: "--45k",
        logic_cells: 43_848,
        ram_blocks: 108,
        packages: &["cabga256", "cabga381", "csfbga285", "cabga554"],
    },
    Device {
        family: Family::Ecp5,
        name: "LFE5U-85F",
        nextpnr_flag: "--85k",
        logic_cells: 83_640,
        ram_blocks: 208,
        packages: &["cabga381", "csfbga285", "cabga554", "cabga756"],
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
        if self.io_type.is_some() && dev.family != Family::Ecp5 {
            return Err(bad("io_type applies to ECP5 boards (the LPF) only".into()));
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
    pub fn link_pll(&self) -> Result<Option<LinkPll>, String> {
        let Some(l) = &self.link else {
            return Ok(None);
        };
        // The family is checked before this runs (an unknown device is its own error).
        match device(&self.device).map(|d| d.family) {
            Some(Family::Ecp5) => {
                Ecp5Pll::for_output(self.clock.mhz, l.clock_mhz).map(|p| Some(LinkPll::Ecp5(p)))
            }
            _ => Pll::for_output(self.clock.mhz, l.clock_mhz).map(|p| Some(LinkPll::Ice40(p))),
        }
    }

    /// The board's FPGA family.
    pub fn family(&self) -> Family {
        self.device_info().family
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
            family: self.family().wrapper(),
        }
    }

    /// The device-table entry (checked at load).
    pub fn device_info(&self) -> &'static Device {
        device(&self.device).expect("checked at load")
    }

    /// nextpnr arguments selecting the part: e.g. `--up5k --package sg48` (iCE40),
    /// `--85k --package CABGA381` (ECP5).
    pub fn nextpnr_device_args(&self) -> Vec<String> {
        let package = match self.family() {
            Family::Ice40 => self.package.to_ascii_lowercase(),
            Family::Ecp5 => self.package.to_ascii_uppercase(),
        };
        vec![
            self.device_info().nextpnr_flag.to_string(),
            "--package".to_string(),
            package,
        ]
    }

    /// The pin-constraint file of the board's family: (file name in a build folder,
    /// contents), `board.pcf` or `board.lpf`.
    pub fn constraints(&self) -> (String, String) {
        match self.family() {
            Family::Ice40 => ("board.pcf".into(), self.pcf()),
            Family::Ecp5 => ("board.lpf".into(), self.lpf()),
        }
    }

    /// The board's pin constraints in Lattice's LPF (ECP5): a site and an I/O standard
    /// per pin, the clock's frequency, pull-ups on the UART input and the reset button.
    /// nextpnr-ecp5 only warns about constraints on ports a top does not have, so the
    /// bench top (clock, LEDs, UART TX) takes the file as it is.
    pub fn lpf(&self) -> String {
        let io = self.io_type.as_deref().unwrap_or("LVCMOS33");
        let pin = |port: &str, site: &str, pull: Pull| {
            let pull = match pull {
                Pull::None => "",
                Pull::Up => " PULLMODE=UP",
                Pull::Down => " PULLMODE=DOWN",
            };
            format!("LOCATE COMP \"{port}\" SITE \"{site}\";\nIOBUF PORT \"{port}\" IO_TYPE={io}{pull};\n")
        };
        let frequency = format!(
            "FREQUENCY PORT \"{}\" {} MHZ;\n",
            self.clock.port, self.clock.mhz
        );
        self.constraints_text(&pin, &frequency, "USB")
    }

    /// The net name of LED `i`: `led[i]`, or `led` on a board with one LED (a one-bit
    /// port has no index in the netlist).
    pub fn led_name(&self, i: usize) -> String {
        if self.leds.pins.len() == 1 {
            self.leds.port.clone()
        } else {
            format!("{}[{i}]", self.leds.port)
        }
    }

    /// The board's pin constraints in nextpnr's PCF dialect. Every line carries
    /// `-nowarn`, so a top that uses only some of the resources (the bench top uses the
    /// clock, the LEDs and the UART TX) can take the file as it is.
    pub fn pcf(&self) -> String {
        let pin = |port: &str, site: &str, _: Pull| format!("set_io -nowarn {port} {site}\n");
        self.constraints_text(&pin, "", "FTDI")
    }

    /// The layout both constraint files share: the header (board, source files), then
    /// the clock (its pin and `after_clock`), the UART of the `bridge` USB chip, the
    /// reset button and the LEDs, each pin as `pin` writes it in the file's dialect.
    fn constraints_text(
        &self,
        pin: &dyn Fn(&str, &str, Pull) -> String,
        after_clock: &str,
        bridge: &str,
    ) -> String {
        let mut s = format!(
            "# {} ({}): {}-{}, {} MHz clock.\n",
            self.title, self.vendor, self.device, self.package, self.clock.mhz
        );
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
        s.push_str(&format!("\n# Clock, {} MHz\n", self.clock.mhz));
        s.push_str(&pin(&self.clock.port, &self.clock.pin, Pull::None));
        s.push_str(after_clock);
        s.push_str(&format!(
            "\n# UART of the {bridge} bridge (rx: host -> FPGA, tx: FPGA -> host)\n"
        ));
        s.push_str(&pin(&self.uart.rx_port, &self.uart.rx, Pull::Up));
        s.push_str(&pin(&self.uart.tx_port, &self.uart.tx, Pull::None));
        if let Some(r) = &self.reset {
            s.push_str(&format!(
                "\n# Reset button{}\n",
                if r.active_low { " (active low)" } else { "" }
            ));
            let pull = if r.active_low { Pull::Up } else { Pull::Down };
            s.push_str(&pin(&r.port, &r.pin, pull));
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
            s.push_str(&pin(&self.led_name(i), p, Pull::None));
        }
        s
    }
}

/// The pull resistor a constraint asks for (where the dialect has one).
#[derive(Clone, Copy)]
enum Pull {
    None,
    Up,
    Down,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_pins_use_the_pll_only_where_the_board_file_asks() {
        for b in Board::shipped() {
            let v = tcp_gen::wrapper::board_pins(&b.pins());
            let (pll, other) = match b.family() {
                Family::Ice40 => ("SB_PLL40_CORE", "EHXPLLL"),
                Family::Ecp5 => ("EHXPLLL", "SB_"),
            };
            assert_eq!(v.contains(pll), b.link.is_some(), "{}", b.name);
            assert!(!v.contains(other), "{v}");
            let clk = if b.link.is_some() {
                tcp_gen::wrapper::LINK_CLK
            } else {
                &b.clock.port
            };
            assert!(v.contains(&format!(".clk({clk})")), "{v}");
            match &b.reset {
                Some(r) if b.family() == Family::Ice40 => {
                    assert!(v.contains(&format!(".PACKAGE_PIN({})", r.port)), "{v}")
                }
                Some(r) => assert!(v.contains(&format!("wire button = {};", r.port)), "{v}"),
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
                ("ulx3s".to_string(), "--85k --package CABGA381".to_string()),
                (
                    "colorlight_i5".to_string(),
                    "--25k --package CABGA381".to_string()
                ),
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
    fn lpf_locates_every_pin_with_its_io_standard() {
        let b = Board::load("ulx3s").unwrap();
        assert_eq!(b.family(), Family::Ecp5);
        let (name, lpf) = b.constraints();
        assert_eq!(name, "board.lpf");
        for line in [
            "LOCATE COMP \"clk\" SITE \"G2\";",
            "IOBUF PORT \"clk\" IO_TYPE=LVCMOS33;",
            "FREQUENCY PORT \"clk\" 25 MHZ;",
            "LOCATE COMP \"uart_rx\" SITE \"M1\";",
            "IOBUF PORT \"uart_rx\" IO_TYPE=LVCMOS33 PULLMODE=UP;",
            "LOCATE COMP \"uart_tx\" SITE \"L4\";",
            "IOBUF PORT \"rst_n\" IO_TYPE=LVCMOS33 PULLMODE=UP;",
            "LOCATE COMP \"led[0]\" SITE \"B2\";",
            "LOCATE COMP \"led[7]\" SITE \"H3\";",
        ] {
            assert!(lpf.lines().any(|l| l == line), "missing `{line}` in\n{lpf}");
        }
        // One LED: the port has no index.
        let i5 = Board::load("colorlight_i5").unwrap();
        assert!(i5.lpf().contains("LOCATE COMP \"led\" SITE \"U16\";"));
        assert_eq!(i5.device_info().logic_cells, 24_288);
        // io_type is an ECP5 setting.
        let text = SHIPPED[0]
            .1
            .replacen("[clock]", "io_type = \"LVCMOS25\"\n\n[clock]", 1);
        let e = Board::from_toml(&text, "x.toml").unwrap_err().to_string();
        assert!(e.contains("io_type applies to ECP5"), "{e}");
        let text = SHIPPED[3]
            .1
            .replacen("[clock]", "io_type = \"LVCMOS25\"\n\n[clock]", 1);
        let b = Board::from_toml(&text, "x.toml").unwrap();
        assert!(b.lpf().contains("IO_TYPE=LVCMOS25"));
        // An ECP5 package the part does not come in.
        let text = SHIPPED[3].1.replace("\"CABGA381\"", "\"CABGA256\"");
        let e = Board::from_toml(&text, "x.toml").unwrap_err().to_string();
        assert!(e.contains("package `CABGA256`"), "{e}");
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

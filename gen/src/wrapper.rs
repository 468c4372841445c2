//! The synthesis wrapper `tcp_bench_top`: a board top that feeds the validator core from
//! an on-chip descriptor source and folds every output onto one LED, so that the tools
//! keep (and time) all of the core.
//!
//! ```text
//!            +-----------+  64 bit   +-----------------------------+      +------------+
//!  LFSR ---> | ROM 256x64| --------> | shift register, L x 192 bit | ---> |            |
//!  (addr)    | (4 BRAMs) |  (^ rare  | (lane i = bits 192i+191..)  |      | tcp_       |
//!            +-----------+  LFSR     +-----------------------------+      | validator  | --> XOR fold,
//!                  |        mutation)  policy word -> deny/approval regs  |  (L, S)    |     registered,
//!  LFSR ---------------------------------> in_valid, in_lanes regs -----> |            |     -> led[0]
//!  power-on reset counter -------------------------------------------- rst+------------+
//! ```
//!
//! * The ROM holds 64 entries of four 64-bit words: three words are a 24-byte
//!   descriptor (big-endian, byte 0 first), the fourth a policy (deny mask, approval
//!   mask). Entries come from [`tcp_spec::stream::StreamGen`]: knowledge-base
//!   descriptors re-sealed for the profile, random bytes and targeted mutants (bad
//!   magic, other version, bad checksum, malformed risk, policy flags), and policies
//!   from the same generator. Yosys maps it to four SB_RAM40_4K blocks on iCE40; on
//!   ECP5 it is built from LUTs ([`WrapperSpec::rom_in_logic`]; about 1,000 LUTs and
//!   an entry-wide read register) and its word reaches the shift register a cycle later.
//! * Each cycle one word is read at `{entry, slot}`; `entry` is drawn from a 32-bit
//!   LFSR every four cycles. Descriptor words are shifted 64 bits at a time into one
//!   shift register that spans all lanes, so every lane holds a whole ROM descriptor two
//!   cycles in four and a window across two descriptors otherwise (which the core must
//!   reject as bad magic/checksum). One word in sixteen is XOR-ed with LFSR bits on its
//!   way in (random corruption); that also guarantees that no input bit is constant, so
//!   synthesis cannot fold any of the core's checks away.
//! * `in_valid` is high on three in four of the cycles when the lanes hold whole
//!   descriptors and on one in eight of the others (LFSR); every `in_lanes` bit is high
//!   three cycles in four. The policy registers load a new policy word one time in four
//!   that it passes by.
//! * Every output bit of the core (`out_*` and the three 64-bit counters) enters a
//!   radix-4 XOR tree with a register after every level (one LUT level per stage, so the
//!   fold never limits Fmax); its single result bit drives `led[0]`. `led[1]` (when the
//!   board has it) shows that the power-on reset is over; `uart_tx` idles high.
//!
//! What the numbers then measure: the core with registered inputs and registered
//! outputs, clocked by the board oscillator pin, plus the wrapper's overhead, which the
//! report states separately (about 192 flip-flops per lane for the input registers, ~70
//! cells for the fold and ~100 for the source, and 4 RAM blocks).

use crate::decision::{DECISION_BITS, REASON_BITS, RISK_BITS};
use tcp_spec::descriptor::{DESCRIPTOR_BITS, DESCRIPTOR_LEN};
use tcp_spec::stream::StreamGen;
use tcp_spec::{Config, Profile};

/// Name of the generated top module.
pub const TOP: &str = "tcp_bench_top";
/// Name of the core module the wrapper instantiates.
pub const CORE: &str = "tcp_validator";
/// Seed of the ROM contents (fixed, so the Verilog is reproducible).
pub const ROM_SEED: u64 = 0x7c9_5eed;
/// Entries (descriptor + policy) in the ROM.
pub const ROM_ENTRIES: usize = 64;

/// What the wrapper needs to know about the board and the core.
#[derive(Debug, Clone)]
pub struct WrapperSpec {
    pub config: Config,
    /// Board clock port name (`clk`).
    pub clk_port: String,
    /// LED bus port name and width.
    pub led_port: String,
    pub leds: usize,
    pub leds_active_low: bool,
    /// UART TX port name (driven idle-high), if the board has one.
    pub uart_tx_port: Option<String>,
    /// Pass `LANES`/`STAGES` parameters to the core (for a parameterized hand-written
    /// core; the generated core has none).
    pub core_parameters: bool,
    /// Build the source ROM from LUTs (`rom_style = "logic"`) instead of block RAM. On
    /// ECP5 a DP16KD read without its output register has a 5.8 ns clock-to-output in
    /// nextpnr-ecp5's timing model, which would cap the bench near 137 MHz whatever
    /// the core, and Yosys does not move a fabric register into that output register.
    pub rom_in_logic: bool,
}

/// 64-bit ROM words per descriptor (the fourth word of an entry is the policy).
const DESCRIPTOR_WORDS: usize = DESCRIPTOR_LEN / 8;
const _: () = assert!(
    DESCRIPTOR_WORDS == 3 && DESCRIPTOR_LEN.is_multiple_of(8),
    "the ROM's entry layout (slots 0..2 descriptor, 3 policy) assumes three words"
);

/// The ROM image: `ROM_ENTRIES * 4` 64-bit words.
pub fn rom_words(profile: Profile) -> Vec<u64> {
    let mut g = StreamGen::new(profile, ROM_SEED);
    let mut words = Vec::with_capacity(ROM_ENTRIES * 4);
    for _ in 0..ROM_ENTRIES {
        let d = g.descriptor();
        let p = g.policy();
        for w in 0..DESCRIPTOR_WORDS {
            let mut b = [0u8; 8];
            b.copy_from_slice(&d[8 * w..8 * w + 8]);
            words.push(u64::from_be_bytes(b));
        }
        words.push(((p.deny_mask as u64) << 32) | p.approval_mask as u64);
    }
    words
}

/// Sizes of the registered XOR-fold levels for `n` input bits (radix 4): e.g. 205 ->
/// [52, 13, 4, 1].
pub fn fold_levels(mut n: usize) -> Vec<usize> {
    let mut v = Vec::new();
    loop {
        n = n.div_ceil(4);
        v.push(n);
        if n == 1 {
            return v;
        }
    }
}

/// Number of core output bits folded onto the LED: `out_valid`, per lane its
/// `out_lanes` bit and verdict fields, and the three 64-bit counters.
pub fn observed_bits(lanes: usize) -> usize {
    1 + (1 + DECISION_BITS + REASON_BITS + RISK_BITS) * lanes + 3 * 64
}

/// The Verilog of `tcp_bench_top` for `spec`.
pub fn bench_top(spec: &WrapperSpec) -> String {
    let l = spec.config.lanes;
    let s = spec.config.stages;
    let w = DESCRIPTOR_BITS * l;
    let nobs = observed_bits(l);
    let levels = fold_levels(nobs);
    let al = if spec.leds_active_low { "1'b1" } else { "1'b0" };
    let mut v = String::new();
    let mut p = |line: &str| {
        v.push_str(line);
        v.push('\n');
    };
    p(&format!(
        "// {TOP}: synthesis wrapper for {CORE} {} (lanes {l}, stages {s}, profile {}).",
        spec.config.name(),
        spec.config.profile
    ));
    p("// Generated by `tcp synth` (host/src/synth/wrapper.rs) - do not edit.");
    p("// On-chip descriptor source (ROM + LFSR) -> registered core inputs; every core");
    p("// output -> registered XOR fold -> led[0]. See docs/synthesis.md.");
    p("`default_nettype none");
    p(&format!("module {TOP} ("));
    p(&format!("    input  wire {},", spec.clk_port));
    match &spec.uart_tx_port {
        Some(tx) => {
            p(&format!(
                "    output wire [{}:0] {},",
                spec.leds - 1,
                spec.led_port
            ));
            p(&format!("    output wire {tx}"));
        }
        None => p(&format!(
            "    output wire [{}:0] {}",
            spec.leds - 1,
            spec.led_port
        )),
    }
    p(");");
    let clk = &spec.clk_port;
    p(&format!("    localparam LANES = {l};"));
    p(&format!("    localparam W = {w};"));
    p("");
    p("    // Power-on reset: iCE40 flip-flops start at 0 after configuration; the core");
    p("    // is held in reset for 256 cycles (also covers the UP5K's BRAM start-up).");
    p("    reg [7:0] por = 8'd0;");
    p("    reg por_done = 1'b0;");
    p(&format!("    always @(posedge {clk}) begin"));
    p("        if (!por_done) por <= por + 8'd1;");
    p("        if (&por) por_done <= 1'b1;");
    p("    end");
    p("    // The core's reset straight from a flip-flop (no LUT between it and its");
    p("    // fan-out): high from the first edge until the counter is done. (In the");
    p("    // cycle before the first edge the core holds its power-up state, which equals");
    p("    // the state after a reset.)");
    p("    reg rst = 1'b0;");
    p(&format!("    always @(posedge {clk}) rst <= ~por_done;"));
    p("");
    p("    // 32-bit maximal-length Galois LFSR (x^32 + x^22 + x^2 + x + 1).");
    p("    reg [31:0] lfsr = 32'd0;");
    p(&format!("    always @(posedge {clk})"));
    p("        if (rst) lfsr <= 32'hACE1_2468;");
    p("        else lfsr <= {1'b0, lfsr[31:1]} ^ (lfsr[0] ? 32'h8020_0003 : 32'h0);");
    p("");
    p("    // ROM address: slot 0..2 = descriptor words, 3 = policy word; a new entry");
    p("    // every four cycles.");
    p("    reg [1:0] slot = 2'd0;");
    p("    reg [5:0] entry = 6'd0;");
    p(&format!("    always @(posedge {clk})"));
    p("        if (rst) begin slot <= 2'd0; entry <= 6'd0; end");
    p("        else begin slot <= slot + 2'd1; if (slot == 2'd3) entry <= lfsr[5:0]; end");
    p("");
    p(&format!(
        "    // {} entries from tcp_spec::stream::StreamGen({}, seed {:#x}).",
        ROM_ENTRIES, spec.config.profile, ROM_SEED
    ));
    let words = rom_words(spec.config.profile);
    // The ROM and how `rom_q` (the word) and `slot_q` (its slot) are read from it.
    let read: &[&str] = if spec.rom_in_logic {
        // In LUTs, read in two steps: an entry's four words at once (a function of the
        // six entry bits alone, one slice deep), then the slot's word. The word reaches
        // `rom_q` one cycle later than from block RAM, and `slot_q` with it.
        p("    // In LUTs, not block RAM: the RAM's clock-to-output would be the bench's");
        p("    // critical path (docs/synthesis.md). One entry (four words) per row.");
        p("    (* rom_style = \"logic\" *)");
        p(&format!("    reg [255:0] rom [0:{}];", ROM_ENTRIES - 1));
        p("    initial begin");
        for (e, w) in words.chunks(4).enumerate() {
            p(&format!(
                "        rom[{e}] = {{64'h{:016x}, 64'h{:016x}, 64'h{:016x}, 64'h{:016x}}};",
                w[3], w[2], w[1], w[0]
            ));
        }
        p("    end");
        p("    reg [255:0] rom_e = 256'd0;");
        p("    reg [1:0] slot_e = 2'd0;");
        &[
            "rom_e <= rom[entry];",
            "slot_e <= slot;",
            "rom_q <= rom_e[64*slot_e +: 64];",
            "slot_q <= slot_e;",
        ]
    } else {
        p("    reg [63:0] rom [0:255];");
        p("    initial begin");
        for (i, word) in words.iter().enumerate() {
            p(&format!("        rom[{i}] = 64'h{word:016x};"));
        }
        p("    end");
        &["rom_q <= rom[{entry, slot}];", "slot_q <= slot;"]
    };
    p("    reg [63:0] rom_q = 64'd0;");
    p("    reg [1:0] slot_q = 2'd0;");
    p(&format!("    always @(posedge {clk}) begin"));
    for line in read {
        p(&format!("        {line}"));
    }
    p("    end");
    p("");
    p("    // Core inputs, all registered.");
    p("    reg mutate = 1'b0;");
    p("    reg [W-1:0] sh = {W{1'b0}};");
    p("    reg [31:0] deny_q = 32'd0, appr_q = 32'd0;");
    p("    reg in_valid_q = 1'b0;");
    p("    reg [LANES-1:0] in_lanes_q = {LANES{1'b0}};");
    p(&format!("    always @(posedge {clk}) begin"));
    p("        mutate <= &lfsr[11:8];");
    p("        if (slot_q != 2'd3)");
    p("            sh <= {sh[W-65:0], rom_q ^ ({64{mutate}} & {lfsr, lfsr})};");
    p("        if (slot_q == 2'd3 && lfsr[13:12] == 2'd0) begin");
    p("            deny_q <= rom_q[63:32];");
    p("            appr_q <= rom_q[31:0];");
    p("        end");
    p("        // Valid on 3/4 of the cycles whose lanes hold whole descriptors (slot_q");
    p("        // 2 and 3 just shifted in / held), on 1/8 of the others.");
    p("        in_valid_q <= ~rst & (slot_q[1] ? (lfsr[16] | lfsr[17])");
    p("                                        : (lfsr[18] & lfsr[19] & lfsr[24]));");
    for j in 0..l {
        p(&format!(
            "        in_lanes_q[{j}] <= lfsr[{}] | lfsr[{}];",
            (20 + 3 * j) % 32,
            (21 + 3 * j) % 32
        ));
    }
    p("    end");
    p("");
    p("    wire out_valid;");
    p("    wire [LANES-1:0] out_lanes;");
    p("    wire [2*LANES-1:0] out_decision;");
    p("    wire [4*LANES-1:0] out_reason;");
    p("    wire [5*LANES-1:0] out_risk;");
    p("    wire [63:0] cnt_cycles, cnt_processed, cnt_rejected;");
    if spec.core_parameters {
        p(&format!("    {CORE} #(.LANES({l}), .STAGES({s})) core ("));
    } else {
        p(&format!("    {CORE} core ("));
    }
    p(&format!("        .clk({clk}),"));
    p("        .rst(rst),");
    p("        .in_valid(in_valid_q),");
    p("        .in_lanes(in_lanes_q),");
    p("        .in_data(sh),");
    p("        .deny_mask(deny_q),");
    p("        .approval_mask(appr_q),");
    p("        .out_valid(out_valid),");
    p("        .out_lanes(out_lanes),");
    p("        .out_decision(out_decision),");
    p("        .out_reason(out_reason),");
    p("        .out_risk(out_risk),");
    p("        .cnt_cycles(cnt_cycles),");
    p("        .cnt_processed(cnt_processed),");
    p("        .cnt_rejected(cnt_rejected)");
    p("    );");
    p("");
    p(&format!(
        "    // Registered radix-4 XOR fold of all {nobs} output bits: {} levels.",
        levels.len()
    ));
    p(&format!("    wire [{}:0] obs = {{", nobs - 1));
    p("        cnt_rejected, cnt_processed, cnt_cycles,");
    p("        out_risk, out_reason, out_decision, out_lanes, out_valid");
    p("    };");
    let mut prev = ("obs".to_string(), nobs);
    for (k, &n) in levels.iter().enumerate() {
        let name = format!("fold{}", k + 1);
        let padded = 4 * n;
        let src = if padded == prev.1 {
            prev.0.clone()
        } else {
            p(&format!(
                "    wire [{}:0] {}_pad = {{{}'d0, {}}};",
                padded - 1,
                prev.0,
                padded - prev.1,
                prev.0
            ));
            format!("{}_pad", prev.0)
        };
        p(&format!("    reg [{}:0] {name} = {}'d0;", n - 1, n));
        p(&format!("    integer i{};", k + 1));
        p(&format!("    always @(posedge {clk})"));
        p(&format!(
            "        for (i{k1} = 0; i{k1} < {n}; i{k1} = i{k1} + 1) {name}[i{k1}] <= ^{src}[4*i{k1} +: 4];",
            k1 = k + 1
        ));
        prev = (name, n);
    }
    p("");
    let mut leds = vec![format!("{} ^ {al}", prev.0)];
    if spec.leds > 1 {
        leds.push(format!("por_done ^ {al}"));
    }
    for _ in 2..spec.leds {
        leds.push(al.to_string());
    }
    leds.reverse();
    p(&format!(
        "    assign {} = {{{}}};",
        spec.led_port,
        leds.join(", ")
    ));
    if let Some(tx) = &spec.uart_tx_port {
        p(&format!("    assign {tx} = 1'b1;"));
    }
    p("endmodule");
    p("`default_nettype wire");
    v
}

/// Name of the board top's clock net in the pin wrapper when a PLL makes it.
pub const LINK_CLK: &str = "link_clk";

/// The board facts the pin wrapper needs (from a board file).
#[derive(Debug, Clone, PartialEq)]
pub struct BoardPins {
    /// The board's name for people (a comment in the Verilog).
    pub title: String,
    pub clk_port: String,
    pub rx_port: String,
    pub tx_port: String,
    pub led_port: String,
    pub leds: usize,
    pub leds_active_low: bool,
    /// The reset button: its port and whether pressed reads 0.
    pub reset: Option<(String, bool)>,
    /// The PLL that makes the link clock from the oscillator, if the board needs one.
    pub pll: Option<PllPrimitive>,
    /// The FPGA family: which primitives the wrapper instantiates.
    pub family: Family,
}

/// The FPGA families the pin wrapper knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Lattice iCE40: the button through an `SB_IO` with its pull-up, `SB_PLL40_CORE`.
    Ice40,
    /// Lattice ECP5: the button a plain input (its pull-up is set in the LPF),
    /// `EHXPLLL`.
    Ecp5,
}

/// The PLL of a board top, by family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PllPrimitive {
    Ice40(PllInstance),
    Ecp5(Ecp5PllInstance),
}

impl PllPrimitive {
    /// The instance named `name`, from `reference` to `out`, lock on `lock`.
    pub fn verilog(&self, name: &str, reference: &str, out: &str, lock: &str) -> String {
        match self {
            PllPrimitive::Ice40(p) => p.verilog(name, reference, out, lock),
            PllPrimitive::Ecp5(p) => p.verilog(name, reference, out, lock),
        }
    }
}

/// An ECP5 `EHXPLLL` setting with CLKOP as its own feedback, as `ecppll` (Project
/// Trellis) writes it: out = in × CLKFB_DIV / CLKI_DIV, VCO = out × CLKOP_DIV.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ecp5PllInstance {
    pub in_mhz: f64,
    pub out_mhz: f64,
    pub clki_div: u8,
    pub clkfb_div: u8,
    pub clkop_div: u8,
    /// The coarse phase of CLKOP: half a period (the 180° Lattice's tools apply).
    pub clkop_cphase: u8,
}

impl Ecp5PllInstance {
    /// An `EHXPLLL` instance named `name`, from `reference` to `out`, with its lock
    /// signal on `lock`.
    pub fn verilog(&self, name: &str, reference: &str, out: &str, lock: &str) -> String {
        format!(
            "    // {in_mhz} MHz -> {out_mhz:.3} MHz: PFD {pfd:.3} MHz, VCO {vco:.3} MHz\n\
             \x20   (* FREQUENCY_PIN_CLKI=\"{in_mhz}\" *)\n\
             \x20   (* FREQUENCY_PIN_CLKOP=\"{out_mhz}\" *)\n\
             \x20   (* ICP_CURRENT=\"12\" *) (* LPF_RESISTOR=\"8\" *) (* MFG_ENABLE_FILTEROPAMP=\"1\" *) (* MFG_GMCREF_SEL=\"2\" *)\n\
             \x20   EHXPLLL #(\n\
             \x20       .PLLRST_ENA(\"DISABLED\"),\n\
             \x20       .INTFB_WAKE(\"DISABLED\"),\n\
             \x20       .STDBY_ENABLE(\"DISABLED\"),\n\
             \x20       .DPHASE_SOURCE(\"DISABLED\"),\n\
             \x20       .OUTDIVIDER_MUXA(\"DIVA\"),\n\
             \x20       .OUTDIVIDER_MUXB(\"DIVB\"),\n\
             \x20       .OUTDIVIDER_MUXC(\"DIVC\"),\n\
             \x20       .OUTDIVIDER_MUXD(\"DIVD\"),\n\
             \x20       .CLKI_DIV({clki}),\n\
             \x20       .CLKOP_ENABLE(\"ENABLED\"),\n\
             \x20       .CLKOP_DIV({op}),\n\
             \x20       .CLKOP_CPHASE({cphase}),\n\
             \x20       .CLKOP_FPHASE(0),\n\
             \x20       .FEEDBK_PATH(\"CLKOP\"),\n\
             \x20       .CLKFB_DIV({fb})\n\
             \x20   ) {name} (\n\
             \x20       .RST(1'b0),\n\
             \x20       .STDBY(1'b0),\n\
             \x20       .CLKI({reference}),\n\
             \x20       .CLKOP({out}),\n\
             \x20       .CLKFB({out}),\n\
             \x20       .CLKINTFB(),\n\
             \x20       .PHASESEL0(1'b0),\n\
             \x20       .PHASESEL1(1'b0),\n\
             \x20       .PHASEDIR(1'b1),\n\
             \x20       .PHASESTEP(1'b1),\n\
             \x20       .PHASELOADREG(1'b1),\n\
             \x20       .PLLWAKESYNC(1'b0),\n\
             \x20       .ENCLKOP(1'b0),\n\
             \x20       .LOCK({lock})\n\
             \x20   );\n",
            in_mhz = self.in_mhz,
            out_mhz = self.out_mhz,
            pfd = self.in_mhz / self.clki_div as f64,
            vco = self.out_mhz * self.clkop_div as f64,
            clki = self.clki_div,
            op = self.clkop_div,
            cphase = self.clkop_cphase,
            fb = self.clkfb_div,
        )
    }
}

/// An iCE40 `SB_PLL40_CORE` setting (simple feedback path), as the board's PLL
/// search chose it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PllInstance {
    pub in_mhz: f64,
    pub out_mhz: f64,
    pub divr: u8,
    pub divf: u8,
    pub divq: u8,
    pub filter_range: u8,
}

impl PllInstance {
    /// An `SB_PLL40_CORE` instance named `name`, from `reference` to `out`, with its
    /// lock signal on `lock`.
    pub fn verilog(&self, name: &str, reference: &str, out: &str, lock: &str) -> String {
        format!(
            "    // {in_mhz} MHz -> {out_mhz:.3} MHz: PFD {pfd:.3} MHz, VCO {vco:.3} MHz\n\
             \x20   SB_PLL40_CORE #(\n\
             \x20       .FEEDBACK_PATH(\"SIMPLE\"),\n\
             \x20       .DIVR(4'd{divr}),\n\
             \x20       .DIVF(7'd{divf}),\n\
             \x20       .DIVQ(3'd{divq}),\n\
             \x20       .FILTER_RANGE(3'd{fr})\n\
             \x20   ) {name} (\n\
             \x20       .REFERENCECLK({reference}),\n\
             \x20       .PLLOUTGLOBAL({out}),\n\
             \x20       .LOCK({lock}),\n\
             \x20       .RESETB(1'b1),\n\
             \x20       .BYPASS(1'b0)\n\
             \x20   );\n",
            in_mhz = self.in_mhz,
            out_mhz = self.out_mhz,
            pfd = self.in_mhz / (self.divr as f64 + 1.0),
            vco = self.in_mhz / (self.divr as f64 + 1.0) * (self.divf as f64 + 1.0),
            divr = self.divr,
            divf = self.divf,
            divq = self.divq,
            fr = self.filter_range,
        )
    }
}

/// The pin wrapper around `tcp_board_top` for a board: its clock, UART, reset button
/// and LED ports under the board's names. Every LED shows the activity bit (toggled
/// per received frame) in the board's polarity. The reset button (through an `SB_IO`
/// with its pull-up on) restarts the board top. When the board needs a link clock, an
/// `SB_PLL40_CORE` makes it from the oscillator and the board top stays in reset until
/// the PLL has locked.
pub fn board_pins(board: &BoardPins) -> String {
    let n = board.leds;
    let range = if n > 1 {
        format!("[{}:0] ", n - 1)
    } else {
        String::new()
    };
    let led = if board.leds_active_low { "~act" } else { "act" };
    let clk = &board.clk_port;
    let mut ports = vec![
        format!("    input wire {clk}"),
        format!("    input wire {}", board.rx_port),
        format!("    output wire {}", board.tx_port),
        format!("    output wire {range}{}", board.led_port),
    ];
    let mut body = String::from("    wire act;\n");
    let mut resets: Vec<String> = Vec::new();
    if let Some((port, active_low)) = &board.reset {
        ports.insert(1, format!("    input wire {port}"));
        if board.family == Family::Ecp5 {
            body.push_str(&format!(
                "    // The reset button (its pull-up is set in the LPF).\n\
                 \x20   wire button = {port};\n"
            ));
        } else {
            body.push_str(&format!(
                "    // The reset button, with the pad's pull-up.\n\
             \x20   wire button;\n\
             \x20   SB_IO #(.PIN_TYPE(6'b0000_01), .PULLUP(1'b1)) button_io (\n\
             \x20       .PACKAGE_PIN({port}),\n\
             \x20       .D_IN_0(button)\n\
             \x20   );\n"
            ));
        }
        resets.push(if *active_low {
            "~button".into()
        } else {
            "button".into()
        });
    }
    let top_clk = match &board.pll {
        Some(p) => {
            body.push_str(&format!("    wire {LINK_CLK}, locked;\n"));
            body.push_str(&p.verilog("pll", clk, LINK_CLK, "locked"));
            resets.push("~locked".into());
            LINK_CLK.to_string()
        }
        None => clk.clone(),
    };
    let reset = if resets.is_empty() {
        "1'b0".to_string()
    } else {
        resets.join(" | ")
    };
    body.push_str(&format!(
        "    tcp_board_top board (.clk({top_clk}), .reset({reset}), .uart_rx({rx}), .uart_tx({tx}), .led(act));\n\
         \x20   assign {leds} = {{{n}{{{led}}}}};\n",
        rx = board.rx_port,
        tx = board.tx_port,
        leds = board.led_port,
    ));
    format!(
        "// tcp_board_pins: {title} pins around tcp_board_top - generated by `tcp synth` - do not edit.\n\
         module tcp_board_pins (\n{ports}\n);\n{body}endmodule\n",
        title = board.title,
        ports = ports.join(",\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(lanes: usize) -> WrapperSpec {
        WrapperSpec {
            config: Config::new(lanes, 2, Profile::Sum16).unwrap(),
            clk_port: "clk".into(),
            led_port: "led".into(),
            leds: 2,
            leds_active_low: true,
            uart_tx_port: Some("uart_tx".into()),
            core_parameters: false,
            rom_in_logic: false,
        }
    }

    #[test]
    fn fold_levels_reduce_to_one_bit() {
        assert_eq!(fold_levels(205), vec![52, 13, 4, 1]);
        assert_eq!(fold_levels(4), vec![1]);
        assert_eq!(*fold_levels(observed_bits(16)).last().unwrap(), 1);
    }

    #[test]
    fn rom_holds_real_valid_descriptors_and_mutants() {
        let words = rom_words(Profile::Sum16);
        assert_eq!(words.len(), 256);
        let v = tcp_spec::BatchValidator::new(Profile::Sum16, Default::default());
        let mut decisions = std::collections::BTreeMap::new();
        for e in 0..ROM_ENTRIES {
            let mut d = [0u8; DESCRIPTOR_LEN];
            for w in 0..DESCRIPTOR_WORDS {
                d[8 * w..8 * w + 8].copy_from_slice(&words[4 * e + w].to_be_bytes());
            }
            *decisions
                .entry(format!("{:?}", v.verdict(&d).reason))
                .or_insert(0) += 1;
        }
        // Valid descriptors (reason Ok) and several kinds of invalid ones.
        assert!(
            decisions.get("Ok").copied().unwrap_or(0) >= 16,
            "{decisions:?}"
        );
        assert!(decisions.len() >= 4, "{decisions:?}");
    }

    #[test]
    fn bench_top_is_deterministic_and_drives_every_port() {
        let a = bench_top(&spec(4));
        assert_eq!(a, bench_top(&spec(4)));
        assert!(a.contains("module tcp_bench_top ("));
        assert!(a.contains("tcp_validator core ("));
        assert!(a.contains("localparam W = 768;"));
        assert!(
            a.contains("assign led = {por_done ^ 1'b1, fold4 ^ 1'b1};"),
            "{a}"
        );
        assert!(a.contains("assign uart_tx = 1'b1;"));
        assert!(!a.contains("rom_style"), "block RAM unless asked");
    }

    #[test]
    fn the_rom_goes_into_logic_only_when_asked_and_keeps_its_contents() {
        let logic = bench_top(&WrapperSpec {
            rom_in_logic: true,
            ..spec(2)
        });
        assert!(logic.contains("    (* rom_style = \"logic\" *)\n    reg [255:0] rom [0:63];"));
        // Row e holds the entry's four words, slot 0 in the low 64 bits.
        let words = rom_words(Profile::Sum16);
        let rows: Vec<Vec<u64>> = logic
            .lines()
            .filter_map(|l| l.trim().strip_prefix("rom["))
            .map(|l| {
                let (_, v) = l.split_once("= {").unwrap();
                let mut row: Vec<u64> = v
                    .trim_end_matches("};")
                    .split(", ")
                    .map(|w| u64::from_str_radix(w.trim_start_matches("64'h"), 16).unwrap())
                    .collect();
                row.reverse();
                row
            })
            .collect();
        assert_eq!(rows.len(), ROM_ENTRIES);
        assert_eq!(rows.concat(), words);
        assert!(logic.contains("rom_q <= rom_e[64*slot_e +: 64];"));
    }
}

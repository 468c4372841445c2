// tcp_decide_ref: the reference ("gold") of the TCP v2 decision rules.
//
// Written by hand from docs/format.md alone -- not generated, and sharing no code or
// constant with the generator (gen/) or the spec crate (spec/). It is meant to be read
// line by line against that document: every block below names the section or rule of
// docs/format.md it implements. `tcp prove` (crate verify/, docs/verification.md)
// proves the generated `tcp_validator` (the "gate") equal to LANES copies of this
// module delayed by STAGES cycles.
//
// One descriptor in, one verdict out, no clock: the pipeline, the lanes, the valid
// flags and the counters are the datasheet's (docs/validator.md) and live in the miter
// (verify/rtl/tcp_prove_miter.sv), not here.
//
// Two choices of form, both plain mathematics, made so that a SAT solver can prove
// this module equal to a circuit built another way (see docs/verification.md):
//  * sum16 adds the 22 bytes in a pairwise tree (pairs, pairs of pairs, ...). Addition
//    modulo 65536 is associative and commutative, so this is "the sum of the bytes
//    modulo 65536" whatever the order.
//  * crc16 is defined once, bit-serially, exactly as the spec states it (`crc_serial`).
//    A CRC with xorout 0 is affine over GF(2): crc(m) = crc(0) ^ XOR of crc(e_i) ^
//    crc(0) over the message bits i that are set (e_i: only bit i set). The columns
//    crc(e_i) ^ crc(0) are computed from `crc_serial` while the design is elaborated,
//    so the circuit is a parity per CRC bit and no other constant enters it.
//
// This folder is not a configuration: its name does not parse as one (l4_s2_sum16), so
// the simulator's build script (sim/build.rs) skips it.

module tcp_decide_ref #(
    // Checksum profile (docs/format.md, "Checksum profiles"): 0 = sum16, 1 = crc16.
    parameter CRC16 = 0
) (
    // The 24 bytes of one descriptor; byte 0 is desc[191:184], byte 23 is desc[7:0]
    // (docs/validator.md, "Ports": byte 0 = [191:184] of its lane).
    input  wire [191:0] desc,
    input  wire [31:0]  deny_mask,
    input  wire [31:0]  approval_mask,
    output reg  [1:0]   decision,
    output reg  [3:0]   reason,
    output reg  [4:0]   risk
);
    // "The decision": the codes.
    localparam [1:0] APPROVE          = 2'd0;
    localparam [1:0] CAUTION          = 2'd1;
    localparam [1:0] REQUIRE_APPROVAL = 2'd2;
    localparam [1:0] REJECT           = 2'd3;

    localparam [3:0] OK               = 4'd0;
    localparam [3:0] BAD_MAGIC        = 4'd1;
    localparam [3:0] BAD_VERSION      = 4'd2;
    localparam [3:0] BAD_CHECKSUM     = 4'd3;
    localparam [3:0] MALFORMED_RISK   = 4'd4;
    localparam [3:0] DENIED           = 4'd5;
    localparam [3:0] APPROVAL_MASK    = 4'd6;

    // "Layout": magic 54 43 50 02. "Checksum profiles": version 2 (sum16), 3 (crc16).
    localparam [31:0] MAGIC   = 32'h54435002;
    localparam [15:0] VERSION = CRC16 ? 16'd3 : 16'd2;

    // "Security flags": the one-hot risk bits 0-4.
    localparam [4:0] SAFE     = 5'h01;
    localparam [4:0] LOW_RISK = 5'h02;
    localparam [4:0] MEDIUM   = 5'h04;
    localparam [4:0] HIGH     = 5'h08;
    localparam [4:0] CRITICAL = 5'h10;

    // "Layout (24 bytes, all integers big-endian)": byte i is desc[191-8i -: 8].
    wire [31:0] magic     = desc[191:160];   // bytes 0-3
    wire [15:0] version   = desc[159:144];   // bytes 4-5
    wire [31:0] flags     = desc[111:80];    // bytes 10-13
    wire [15:0] stored    = desc[15:0];      // bytes 22-23
    wire [175:0] message  = desc[191:16];    // bytes 0..22 (0 to 21): what is checksummed
    wire [4:0]  risk_bits = flags[4:0];

    // sum16: the sum of bytes 0..21 modulo 65536, in a pairwise tree. `sum` holds 64
    // terms of 16 bits (the 22 bytes, then zeros); each level adds neighbours, in place:
    // 22 terms -> 11 -> 6 -> 3 -> 2 -> 1.
    reg [64*16-1:0] sum;
    integer n, i;
    always @(*) begin
        sum = {64*16{1'b0}};
        for (i = 0; i < 22; i = i + 1)
            sum[16 * i +: 16] = {8'd0, message[175 - 8 * i -: 8]};
        for (n = 32; n >= 1; n = n / 2)
            for (i = 0; i < n; i = i + 1)
                sum[16 * i +: 16] = sum[32 * i +: 16] + sum[32 * i + 16 +: 16];
    end
    wire [15:0] sum16 = sum[15:0];

    // crc16: CRC-16/CCITT-FALSE of bytes 0..21: poly 0x1021, init 0xFFFF, not
    // reflected (each byte most significant bit first), xorout 0.
    function [15:0] crc_serial(input [175:0] m);
        integer k;
        reg [15:0] c;
        begin
            c = 16'hffff;
            for (k = 175; k >= 0; k = k - 1)
                c = (c[15] ^ m[k]) ? ((c << 1) ^ 16'h1021) : (c << 1);
            crc_serial = c;
        end
    endfunction

    localparam [15:0] CRC_OF_ZERO = crc_serial(176'd0);
    // Column k (bits 16k+15..16k): what message bit k adds to the CRC when it is set.
    function [176*16-1:0] columns(input integer unused);
        integer k;
        begin
            for (k = 0; k < 176; k = k + 1)
                columns[16 * k +: 16] = crc_serial(176'd1 << k) ^ CRC_OF_ZERO;
        end
    endfunction
    localparam [176*16-1:0] COLUMNS = columns(0);
    // CRC bit j: the parity of the message bits whose column has bit j set.
    wire [15:0] crc16;
    genvar cj, ck;
    generate
        for (cj = 0; cj < 16; cj = cj + 1) begin : crc_bit
            wire [175:0] row;
            for (ck = 0; ck < 176; ck = ck + 1) begin : column
                assign row[ck] = COLUMNS[16 * ck + cj];
            end
            assign crc16[cj] = CRC_OF_ZERO[cj] ^ (^(message & row));
        end
    endgenerate

    wire [15:0] checksum = CRC16 ? crc16 : sum16;

    // "More than one risk bit set is malformed."
    reg [2:0] risk_count;
    integer j;
    always @(*) begin
        risk_count = 3'd0;
        for (j = 0; j < 5; j = j + 1)
            risk_count = risk_count + {2'd0, risk_bits[j]};
    end

    // Rule 6: by risk.
    reg [1:0] by_risk;
    always @(*) begin
        case (risk_bits)
            SAFE, LOW_RISK: by_risk = APPROVE;
            MEDIUM:         by_risk = CAUTION;
            CRITICAL:       by_risk = REJECT;
            default:        by_risk = REQUIRE_APPROVAL; // HIGH_RISK, UNKNOWN (none set)
        endcase
    end

    // "Rules, first match wins". The reported risk is the five risk bits for
    // descriptors that pass rules 1-4 (so also for DENIED ones), else 0.
    always @(*) begin
        if (magic != MAGIC) begin                                           // rule 1
            decision = REJECT; reason = BAD_MAGIC; risk = 5'd0;
        end else if (version != VERSION) begin                              // rule 2
            decision = REJECT; reason = BAD_VERSION; risk = 5'd0;
        end else if (stored != checksum) begin                              // rule 3
            decision = REJECT; reason = BAD_CHECKSUM; risk = 5'd0;
        end else if (risk_count > 3'd1) begin                               // rule 4
            decision = REJECT; reason = MALFORMED_RISK; risk = 5'd0;
        end else if ((flags & deny_mask) != 32'd0) begin                    // rule 5
            decision = REJECT; reason = DENIED; risk = risk_bits;
        end else if ((flags & approval_mask) != 32'd0
                     && (by_risk == APPROVE || by_risk == CAUTION)) begin   // rule 7
            decision = REQUIRE_APPROVAL; reason = APPROVAL_MASK; risk = risk_bits;
        end else begin                                                      // rule 6
            decision = by_risk; reason = OK; risk = risk_bits;
        end
    end
endmodule

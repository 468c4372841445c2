// tcp_prove_miter: the generated core (the "gate", module tcp_validator) against LANES
// copies of the reference decision rules (the "gold", rtl/reference/tcp_decide_ref.v)
// delayed by STAGES cycles, with the datasheet's valid, lane, zero and counter rules
// (docs/validator.md) written out here. `tcp prove` (crate verify/) proves each ok_*
// output always 1; docs/verification.md says how.
//
// Nothing of the gate is looked at but its ports.

module tcp_prove_miter #(
    parameter LANES = 4,
    parameter STAGES = 2,
    parameter CRC16 = 0
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire                  in_valid,
    input  wire [LANES-1:0]      in_lanes,
    input  wire [LANES*192-1:0]  in_data,
    input  wire [31:0]           deny_mask,
    input  wire [31:0]           approval_mask,
    // out_valid and out_lanes agree.
    output wire                  ok_frame,
    // Lane i's decision, reason and risk agree.
    output wire [LANES-1:0]      ok_lane,
    // ok_frame and every ok_lane.
    output wire                  ok_outputs,
    // The three counters agree.
    output wire                  ok_counters
);
    // The gate.
    // (`keep`: a counterexample shows these by name.)
    (* keep *) wire               gate_valid;
    (* keep *) wire [LANES-1:0]   gate_lanes;
    (* keep *) wire [LANES*2-1:0] gate_decision;
    (* keep *) wire [LANES*4-1:0] gate_reason;
    (* keep *) wire [LANES*5-1:0] gate_risk;
    (* keep *) wire [63:0]        gate_cycles;
    (* keep *) wire [63:0]        gate_processed;
    (* keep *) wire [63:0]        gate_rejected;

    tcp_validator gate (
        .clk(clk), .rst(rst), .in_valid(in_valid), .in_lanes(in_lanes), .in_data(in_data),
        .deny_mask(deny_mask), .approval_mask(approval_mask),
        .out_valid(gate_valid), .out_lanes(gate_lanes), .out_decision(gate_decision),
        .out_reason(gate_reason), .out_risk(gate_risk),
        .cnt_cycles(gate_cycles), .cnt_processed(gate_processed), .cnt_rejected(gate_rejected)
    );

    // The gold: one reference per lane, on the inputs of this edge. A lane that carries
    // no descriptor, or a cycle without a batch, yields zeros ("Zeros").
    wire [LANES-1:0]   now_lanes = in_valid ? in_lanes : {LANES{1'b0}};
    wire [LANES*2-1:0] now_decision;
    wire [LANES*4-1:0] now_reason;
    wire [LANES*5-1:0] now_risk;
    genvar i;
    generate
        for (i = 0; i < LANES; i = i + 1) begin : lane
            wire [1:0] decision;
            wire [3:0] reason;
            wire [4:0] risk;
            tcp_decide_ref #(.CRC16(CRC16)) gold (
                .desc(in_data[192*i +: 192]), .deny_mask(deny_mask),
                .approval_mask(approval_mask),
                .decision(decision), .reason(reason), .risk(risk)
            );
            assign now_decision[2*i +: 2] = now_lanes[i] ? decision : 2'd0;
            assign now_reason[4*i +: 4]   = now_lanes[i] ? reason : 4'd0;
            assign now_risk[5*i +: 5]     = now_lanes[i] ? risk : 5'd0;
        end
    endgenerate

    // "Results": a batch sampled at edge k is on the outputs after edge k+STAGES-1, so
    // STAGES registers, each cleared by a reset ("Reset").
    localparam W = 1 + LANES * (1 + 2 + 4 + 5);
    wire [W-1:0] stage [0:STAGES];
    assign stage[0] = {now_risk, now_reason, now_decision, now_lanes, in_valid};
    generate
        for (i = 0; i < STAGES; i = i + 1) begin : delay
            reg [W-1:0] q = {W{1'b0}};
            always @(posedge clk) q <= rst ? {W{1'b0}} : stage[i];
            assign stage[i+1] = q;
        end
    endgenerate
    (* keep *) wire               gold_valid    = stage[STAGES][0];
    (* keep *) wire [LANES-1:0]   gold_lanes    = stage[STAGES][1 +: LANES];
    (* keep *) wire [LANES*2-1:0] gold_decision = stage[STAGES][1 + LANES +: 2*LANES];
    (* keep *) wire [LANES*4-1:0] gold_reason   = stage[STAGES][1 + 3*LANES +: 4*LANES];
    (* keep *) wire [LANES*5-1:0] gold_risk     = stage[STAGES][1 + 7*LANES +: 5*LANES];

    // The counters: cnt_cycles counts edges with rst low; cnt_processed and
    // cnt_rejected add, at each such edge, the results on the outputs before it.
    reg [4:0] gold_n_valid, gold_n_reject;
    integer l;
    always @(*) begin
        gold_n_valid = 5'd0;
        gold_n_reject = 5'd0;
        for (l = 0; l < LANES; l = l + 1) begin
            gold_n_valid = gold_n_valid + {4'd0, gold_lanes[l]};
            gold_n_reject = gold_n_reject
                + {4'd0, gold_lanes[l] && gold_decision[2*l +: 2] == 2'd3};
        end
    end
    (* keep *) reg [63:0] gold_cycles = 64'd0;
    (* keep *) reg [63:0] gold_processed = 64'd0;
    (* keep *) reg [63:0] gold_rejected = 64'd0;
    always @(posedge clk) begin
        if (rst) begin
            gold_cycles <= 64'd0;
            gold_processed <= 64'd0;
            gold_rejected <= 64'd0;
        end else begin
            gold_cycles <= gold_cycles + 64'd1;
            gold_processed <= gold_processed + {59'd0, gold_n_valid};
            gold_rejected <= gold_rejected + {59'd0, gold_n_reject};
        end
    end

    // The obligations.
    assign ok_frame = gate_valid == gold_valid && gate_lanes == gold_lanes;
    generate
        for (i = 0; i < LANES; i = i + 1) begin : check
            // One wire per lane (check[i].ok), so that a proof can select its cone.
            (* keep *) wire ok = gate_decision[2*i +: 2] == gold_decision[2*i +: 2]
                && gate_reason[4*i +: 4] == gold_reason[4*i +: 4]
                && gate_risk[5*i +: 5] == gold_risk[5*i +: 5];
            assign ok_lane[i] = ok;
        end
    endgenerate
    assign ok_outputs = ok_frame && &ok_lane;
    assign ok_counters = gate_cycles == gold_cycles && gate_processed == gold_processed
        && gate_rejected == gold_rejected;
endmodule

// tcp_engine_props: safety properties of the frame engine (gen/src/frame_engine.rs,
// module `tcp_board_top$engine` of the board top that `tcp gen --board-clock-hz`
// writes), as assertions over an environment and an independent monitor.
// `tcp prove --engine` (crate verify/, src/engine.rs) proves them with Yosys;
// docs/verification.md says how, to what depth, under which assumptions.
//
// The engine is read from the generated Verilog, flattened, and these of its
// internal signals are exposed as ports (Yosys `expose`); nothing else of it is
// looked at:
//   commit interface: window$push (a request enters the replay window),
//     slots$advance (the next reply slot), stats$add (processed/rejected counted),
//     stats$replay, exec.deny$d/$q and exec.appr$d/$q (the policy in force),
//     slots$slot (the pending slot), exec.f_done$q and exec$take (a frame is
//     executed);
//   reply path: queue.job$q/$d, queue.job_src$q/$d, queue.job_slot$q/$d (the reply
//     waiting), queue.act_src$q, queue.act_slot$q, tx$ready (the reply being sent),
//     and the reply memory's write port (slots.replies$write_enable, $write_address);
//   for the invariants: the engine's window (window.valid$i$q, window.metas$i$q,
//     window.keys$i$q), exec.f_hit$q, exec.f_meta$q, exec.f_key$q,
//     exec.f_bad_crc$q, exec.f_bad_len$q, intake.ndesc$q, and the receiver's
//     registers (rx.*) and outputs (rx$*).
// The names are those of the block structure in gen/src/frame_engine/ (intake,
// exec, queue, window, slots, stats); a renamed signal fails the build of the model.
// The reply memory itself is replaced by a port whose read data is arbitrary
// (verify/rtl/tcp_engine_ram_free.v): no property depends on what it holds.
//
// The monitor parses the byte stream from docs/protocol.md alone ("Frames":
// start byte 0xAA, cmd, seq, len (BE), payload, CRC-16/CCITT-FALSE over cmd..payload;
// a len above 6120 ends the frame at once; resynchronise on the next start byte) and
// keeps its own replay window: the (cmd, seq, crc) keys of the last 8 requests the
// engine committed, with the slot their reply was written to.
//
// Assumptions (the environment of the board top):
//   * rx_valid: at most one received byte per GAP+1 cycles (a UART at divisor d
//     delivers one per 10d >= 40 cycles; GAP = 1 covers every divisor);
//   * tx_ready: the transmitter takes at least TX_CYCLES cycles per byte (the UART
//     takes 10d); it may also stall (tx_stall);
//   * res_valid, res_verdict, cycles: arbitrary in every cycle (the core's results
//     are not trusted for these properties);
//   * rst: arbitrary in every cycle, and high at the first edge (the proof starts
//     from arbitrary register values: no X, no initial values assumed).

module tcp_engine_props #(
    parameter GAP = 0,
    parameter TX_CYCLES = 3,
    parameter WINDOW = 8,
    parameter MAX_PAYLOAD = 6120
) (
    input wire        clk,
    input wire        rst,
    input wire [7:0]  rx_byte,
    input wire        rx_valid,
    input wire        tx_stall,
    input wire        res_valid,
    input wire [10:0] res_verdict,
    input wire [63:0] cycles
);
    // ---- The engine and the signals it exposes. ----
    wire [7:0]  tx_data;
    wire        tx_start;
    wire        tx_ready;
    wire        w_push, w_advance, w_add, w_replay, w_f_done, w_take;
    wire [31:0] w_deny_d, w_deny_q, w_appr_d, w_appr_q;
    wire [3:0]  w_slot;
    wire        w_job_q, w_job_d, w_tx_ready, w_f_hit;
    wire [1:0]  w_job_src_q, w_job_src_d, w_act_src_q;
    wire [3:0]  w_job_slot_q, w_job_slot_d, w_act_slot_q;
    wire        w_we;
    wire [11:0] w_waddr;
    wire [12:0] w_f_meta;
    wire [8:0]  w_ndesc;
    // The receiver and the end of a frame, for the invariants that tie the monitor
    // to the engine.
    wire [2:0]  r_state;
    wire [15:0] r_crc, r_len, r_idx, r_last, r_crc_out;
    wire [7:0]  r_cmd, r_seq, r_crc_hi, r_cmd_out, r_seq_out;
    wire        r_done, r_ok, r_bad_len, w_f_bad_crc, w_f_bad_len;
    wire [31:0] w_f_key;
    wire [32*WINDOW-1:0] e_key;
    wire [WINDOW-1:0] e_valid;
    wire [13*WINDOW-1:0] e_meta;

    tcp_board_top$engine dut (
        .clk(clk), .rst(rst), .rx_byte(rx_byte), .rx_valid(rx_valid),
        .tx_data(tx_data), .tx_start(tx_start), .tx_ready(tx_ready),
        .core_valid(), .core_data(), .deny_mask(), .approval_mask(),
        .res_valid(res_valid), .res_verdict(res_verdict), .cycles(cycles),
        .frame_done(),
        .\window$push (w_push), .\slots$advance (w_advance), .\stats$add (w_add),
        .\stats$replay (w_replay), .\exec.f_done$q (w_f_done), .\exec$take (w_take),
        .\exec.deny$d (w_deny_d), .\exec.deny$q (w_deny_q), .\exec.appr$d (w_appr_d), .\exec.appr$q (w_appr_q),
        .\slots$slot (w_slot),
        .\queue.job$q (w_job_q), .\queue.job$d (w_job_d), .\queue.job_src$q (w_job_src_q),
        .\queue.job_src$d (w_job_src_d), .\queue.job_slot$q (w_job_slot_q), .\queue.job_slot$d (w_job_slot_d),
        .\queue.act_src$q (w_act_src_q), .\queue.act_slot$q (w_act_slot_q), .\tx$ready (w_tx_ready),
        .\slots.replies$write_enable (w_we), .\slots.replies$write_address (w_waddr),
        .\exec.f_hit$q (w_f_hit), .\exec.f_meta$q (w_f_meta), .\intake.ndesc$q (w_ndesc),
        .\rx.state$q (r_state), .\rx.crc$q (r_crc), .\rx.len_ff$q (r_len),
        .\rx.idx$q (r_idx), .\rx.last$q (r_last), .\rx.cmd_ff$q (r_cmd),
        .\rx.seq_ff$q (r_seq), .\rx.rx_crc_hi$q (r_crc_hi), .\rx$done (r_done),
        .\rx$ok (r_ok), .\rx$bad_len (r_bad_len), .\rx$crc_out (r_crc_out),
        .\rx$cmd (r_cmd_out), .\rx$seq (r_seq_out),
        .\exec.f_bad_crc$q (w_f_bad_crc), .\exec.f_bad_len$q (w_f_bad_len), .\exec.f_key$q (w_f_key),
        .\window.keys$0$q (e_key[0*32 +: 32]), .\window.keys$1$q (e_key[1*32 +: 32]),
        .\window.keys$2$q (e_key[2*32 +: 32]), .\window.keys$3$q (e_key[3*32 +: 32]),
        .\window.keys$4$q (e_key[4*32 +: 32]), .\window.keys$5$q (e_key[5*32 +: 32]),
        .\window.keys$6$q (e_key[6*32 +: 32]), .\window.keys$7$q (e_key[7*32 +: 32]),
        .\window.valid$0$q (e_valid[0]), .\window.metas$0$q (e_meta[0*13 +: 13]),
        .\window.valid$1$q (e_valid[1]), .\window.metas$1$q (e_meta[1*13 +: 13]),
        .\window.valid$2$q (e_valid[2]), .\window.metas$2$q (e_meta[2*13 +: 13]),
        .\window.valid$3$q (e_valid[3]), .\window.metas$3$q (e_meta[3*13 +: 13]),
        .\window.valid$4$q (e_valid[4]), .\window.metas$4$q (e_meta[4*13 +: 13]),
        .\window.valid$5$q (e_valid[5]), .\window.metas$5$q (e_meta[5*13 +: 13]),
        .\window.valid$6$q (e_valid[6]), .\window.metas$6$q (e_meta[6*13 +: 13]),
        .\window.valid$7$q (e_valid[7]), .\window.metas$7$q (e_meta[7*13 +: 13])
    );
    localparam [1:0] SLOT = 2'd0;   // the engine's Source::Slot
    localparam SLOT_LSB = 9;
    // a window entry's meta: {slot, payload length}

    // ---- Environment. ----
    // A reset at the first edge (the engine's registers start arbitrary).
    reg started = 1'b0;
    always @(posedge clk) started <= 1'b1;
    always @(*) if (!started) assume (rst);
    // Bytes at least GAP+1 cycles apart.
    reg [3:0] since = 4'd0;
    always @(posedge clk) since <= rx_valid ? 4'd0 : (since == 4'hf ? since : since + 4'd1);
    always @(*) if (rx_valid) assume (since >= GAP);
    // The transmitter: busy for TX_CYCLES-1 cycles after a byte, and it may stall.
    reg [3:0] tbusy = 4'd0;
    always @(posedge clk)
        tbusy <= rst ? 4'd0 : tx_start ? TX_CYCLES - 1 : (tbusy != 0 ? tbusy - 4'd1 : 4'd0);
    assign tx_ready = tbusy == 0 && !tx_stall;

    // ---- The monitor: frames as docs/protocol.md defines them. ----
    function [15:0] crc_byte(input [15:0] c, input [7:0] b);
        integer k;
        begin
            crc_byte = c;
            for (k = 7; k >= 0; k = k - 1)
                crc_byte = (crc_byte[15] ^ b[k]) ? ((crc_byte << 1) ^ 16'h1021) : (crc_byte << 1);
        end
    endfunction
    localparam [2:0] HUNT = 3'd0, CMD = 3'd1, SEQ = 3'd2, LEN_HI = 3'd3, LEN_LO = 3'd4,
                     PAYLOAD = 3'd5, CRC_HI = 3'd6, CRC_LO = 3'd7;
    reg [2:0]  m_state;
    reg [7:0]  m_cmd, m_seq, m_len_hi, m_crc_hi;
    reg [15:0] m_len, m_idx, m_crc;
    // The last frame that ended and has not been executed yet: whether it passed its
    // CRC (and length) check, and its key (cmd, seq, crc).
    reg        p_valid, p_good;
    reg [31:0] p_key;
    wire [15:0] len_now = {m_len_hi, rx_byte};
    always @(posedge clk) begin
        if (rst) begin
            m_state <= HUNT;
            p_valid <= 1'b0;
        end else begin
            if (w_push) p_valid <= 1'b0;
    // executed: consumed
            if (rx_valid) case (m_state)
                HUNT: if (rx_byte == 8'hAA) begin m_state <= CMD; m_crc <= 16'hffff; end
                CMD: begin m_cmd <= rx_byte; m_crc <= crc_byte(m_crc, rx_byte); m_state <= SEQ; end
                SEQ: begin m_seq <= rx_byte; m_crc <= crc_byte(m_crc, rx_byte); m_state <= LEN_HI; end
                LEN_HI: begin m_len_hi <= rx_byte; m_crc <= crc_byte(m_crc, rx_byte); m_state <= LEN_LO; end
                LEN_LO: begin
                    m_len <= len_now;
                    m_idx <= 16'd0;
                    m_crc <= crc_byte(m_crc, rx_byte);
                    if (len_now > MAX_PAYLOAD) begin      // BAD_LENGTH: the frame ends
                        p_valid <= 1'b1; p_good <= 1'b0; m_state <= HUNT;
                    end else
                        m_state <= len_now == 16'd0 ? CRC_HI : PAYLOAD;
                end
                PAYLOAD: begin
                    m_crc <= crc_byte(m_crc, rx_byte);
                    m_idx <= m_idx + 16'd1;
                    if (m_idx + 16'd1 == m_len) m_state <= CRC_HI;
                end
                CRC_HI: begin m_crc_hi <= rx_byte; m_state <= CRC_LO; end
                CRC_LO: begin
                    p_valid <= 1'b1;
                    p_good <= {m_crc_hi, rx_byte} == m_crc;
                    p_key <= {m_cmd, m_seq, m_crc_hi, rx_byte};
                    m_state <= HUNT;
                end
            endcase
        end
    end

    // The shadow window: keys of the last WINDOW commits and their reply slots.
    reg [WINDOW-1:0]    s_valid;
    reg [32*WINDOW-1:0] s_key;
    reg [4*WINDOW-1:0]  s_slot;
    always @(posedge clk) begin
        if (rst) s_valid <= {WINDOW{1'b0}};
        else if (w_push) begin
            s_valid <= {s_valid[WINDOW-2:0], 1'b1};
            s_key <= {s_key[32*(WINDOW-1)-1:0], p_key};
            s_slot <= {s_slot[4*(WINDOW-1)-1:0], w_slot};
        end
    end
    reg       in_window;
    reg [3:0] window_slot;
    integer i;
    always @(*) begin
        in_window = 1'b0;
        window_slot = 4'd0;
        for (i = WINDOW - 1; i >= 0; i = i - 1)
            if (s_valid[i] && s_key[32*i +: 32] == p_key) begin
                in_window = 1'b1;
                window_slot = s_slot[4*i +: 4];
            end
    end

    // The slots that must not be written: the reply of every request in the window,
    // the reply waiting for the transmitter, the reply being sent.
    wire [3:0] w_wslot = w_waddr[11:8];
    reg protected;
    always @(*) begin
        protected = 1'b0;
        for (i = 0; i < WINDOW; i = i + 1)
            if (s_valid[i] && s_slot[4*i +: 4] == w_wslot) protected = 1'b1;
        if (w_job_q && w_job_src_q == SLOT && w_job_slot_q == w_wslot) protected = 1'b1;
        if (!w_tx_ready && w_act_src_q == SLOT && w_act_slot_q == w_wslot) protected = 1'b1;
    end

    // Distance of a slot behind the pending one (the induction's invariants).
    function [3:0] behind(input [3:0] s);
        behind = w_slot - s;
    endfunction
    reg window_slots_ok;
    always @(*) begin
        window_slots_ok = 1'b1;
        for (i = 0; i < WINDOW; i = i + 1) begin
            if (s_valid[i] && behind(s_slot[4*i +: 4]) != i + 1) window_slots_ok = 1'b0;
            if (e_valid[i] && behind(e_meta[13*i + SLOT_LSB +: 4]) != i + 1) window_slots_ok = 1'b0;
        end
    end

    // The monitor and the engine's window agree; its keys are distinct.
    reg windows_agree;
    integer j;
    always @(*) begin
        windows_agree = s_valid == e_valid;
        for (i = 0; i < WINDOW; i = i + 1) begin
            if (s_valid[i] && s_key[32*i +: 32] != e_key[32*i +: 32]) windows_agree = 1'b0;
            for (j = i + 1; j < WINDOW; j = j + 1)
                if (s_valid[i] && s_valid[j] && s_key[32*i +: 32] == s_key[32*j +: 32])
                    windows_agree = 1'b0;
        end
    end
    // The monitor parses as the receiver does (both follow docs/protocol.md).
    wire after_cmd = m_state >= SEQ;
    wire parser_agrees = m_state == r_state
        && (m_state == HUNT || m_crc == r_crc)
        && (!after_cmd || m_cmd == r_cmd)
        && (!(m_state >= LEN_HI) || m_seq == r_seq)
        && (m_state != LEN_LO || m_len_hi == r_len[15:8])
        && (!(m_state >= PAYLOAD) || (m_len == r_len && r_last == m_len - 16'd1))
        && (m_state != PAYLOAD || (m_idx == r_idx && m_idx < m_len))
        && (m_state != CRC_LO || m_crc_hi == r_crc_hi);
    // A frame that ended is the monitor's pending one, until it executes.
    wire ends_agree =
        (!r_done || (m_state == HUNT && p_valid && p_good == r_ok
            && (!r_ok || p_key == {r_cmd_out, r_seq_out, r_crc_out})))
        && (!w_f_done || ((m_state == HUNT || m_state == CMD) && p_valid
            && p_good == (!w_f_bad_crc && !w_f_bad_len) && (!p_good || p_key == w_f_key)));

    wire policy_moves = w_deny_d != w_deny_q || w_appr_d != w_appr_q;

    // ---- The properties (from the outputs after the first edge on). ----
    // 1. Nothing is committed by a frame whose CRC fails: every commit (window entry,
    //    counters, policy, slot) is the execution of the last frame that ended,
    //    which passed its CRC check, and happens once.
    (* keep *) wire ok_crc_commit = !w_push || (p_valid && p_good);
    (* keep *) wire ok_crc_counters = !w_add || w_push;
    (* keep *) wire ok_crc_policy = !policy_moves || w_push;
    (* keep *) wire ok_crc_slot = w_advance == w_push;
    (* keep *) wire ok_crc_replay = !w_replay || (p_valid && p_good);
    // 2. A request seen again within the window is answered from memory and never
    //    executed twice: a commit's key is not in the window; a replay is of a
    //    key in the window, from that request's slot; and a good frame in the
    //    window that the engine takes is replayed.
    (* keep *) wire ok_replay_once = !w_push || !in_window;
    (* keep *) wire ok_replay_in_window = !w_replay || in_window;
    (* keep *) wire ok_replay_from_slot =
        !w_replay || (w_job_d && w_job_src_d == SLOT && w_job_slot_d == window_slot);
    (* keep *) wire ok_replay_taken =
        !(w_f_done && w_take && p_valid && p_good && in_window) || w_replay;
    // 3. A reply slot being sent (or waiting, or held by the window) is never
    //    overwritten.
    (* keep *) wire ok_slot_kept = !w_we || !protected;
    // Invariants that make property 3 inductive: the window's slots are the last
    // ones before the pending slot, in order; the waiting reply, the reply being
    // sent and a window hit being executed are a few slots behind it.
    (* keep *) wire ok_inv_window_slots = window_slots_ok;
    (* keep *) wire ok_inv_waiting =
        !(w_job_q && w_job_src_q == SLOT) || (behind(w_job_slot_q) >= 1 && behind(w_job_slot_q) <= 9);
    (* keep *) wire ok_inv_sending =
        !(!w_tx_ready && w_act_src_q == SLOT) || (behind(w_act_slot_q) >= 1 && behind(w_act_slot_q) <= (w_job_q ? 10 : 9));
    (* keep *) wire ok_inv_hit =
        !(w_f_done && w_f_hit) || (behind(w_f_meta[SLOT_LSB +: 4]) >= 1 && behind(w_f_meta[SLOT_LSB +: 4]) <= 9);
    (* keep *) wire ok_inv_write = !w_we || w_wslot == w_slot;
    // Invariants that make properties 1 and 2 inductive.
    (* keep *) wire ok_inv_windows = windows_agree;
    (* keep *) wire ok_inv_parser = parser_agrees;
    (* keep *) wire ok_inv_ends = ends_agree;
    // A VALIDATE carries at most 255 descriptors (len <= 6120): the count stays
    // below the slot bits of a window entry's meta.
    (* keep *) wire ok_inv_ndesc = w_ndesc <= 9'd255;

    // Each assertion holds in every cycle without a reset.
    always @(*) if (!rst) begin
        crc_commit: assert (ok_crc_commit);
        crc_counters: assert (ok_crc_counters);
        crc_policy: assert (ok_crc_policy);
        crc_slot: assert (ok_crc_slot);
        crc_replay: assert (ok_crc_replay);
        replay_once: assert (ok_replay_once);
        replay_in_window: assert (ok_replay_in_window);
        replay_from_slot: assert (ok_replay_from_slot);
        replay_taken: assert (ok_replay_taken);
        slot_kept: assert (ok_slot_kept);
        inv_window_slots: assert (ok_inv_window_slots);
        inv_waiting: assert (ok_inv_waiting);
        inv_sending: assert (ok_inv_sending);
        inv_hit: assert (ok_inv_hit);
        inv_write: assert (ok_inv_write);
        inv_windows: assert (ok_inv_windows);
        inv_parser: assert (ok_inv_parser);
        inv_ends: assert (ok_inv_ends);
        inv_ndesc: assert (ok_inv_ndesc);
    end
endmodule

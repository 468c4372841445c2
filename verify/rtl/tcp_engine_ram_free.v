// The frame engine's reply memory with its write port kept and its read data left
// free (any value in every cycle): the engine's properties (verify/rtl/
// tcp_engine_props.sv) do not depend on what the memory holds, and the 4096 words
// would otherwise be 65536 state bits for the solver. Replaces the module of that
// name in the generated board top (`tcp prove --engine`, crate verify/).
module tcp_board_top$engine$slots$replies(read_address, read_clock, read_data,
    write_address, write_clock, write_data, write_enable);
    input wire [11:0] read_address;
    input wire read_clock;
    output wire [15:0] read_data;
    input wire [11:0] write_address;
    input wire write_clock;
    input wire [15:0] write_data;
    input wire write_enable;
    assign read_data = $anyseq;
endmodule

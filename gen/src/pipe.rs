//! `Pipe<T>`: a chain of `depth >= 1` registers with a synchronous, active-high reset
//! that loads zero ([`Pipe::new`]), or with no reset at all ([`Pipe::without_reset`]).
//! The pipeline registers of the validator are all `Pipe`s, so one block decides what
//! a pipeline register does on reset.
//!
//! A register without reset is for data whose every reader is gated by a `valid` bit
//! that is reset at the same edges (the checksum's partial sums, a phase's facts): the
//! reset then need not reach it, which keeps the reset net's fan-out, and its routing
//! delay, to the valid bits and the registers that hold results. Its power-up value is
//! still zero (the `initial` value of every rust-hdl register).
//!
//! Optional pipeline boundaries are `Vec<Pipe<T>>` of length 0 or 1 in the parent: the
//! parent's `#[hdl_gen]` loops over the vector, and rust-hdl unrolls the loop when it
//! emits Verilog, so an absent boundary leaves no trace in the RTL.

use rust_hdl::prelude::*;

/// `depth` registers in a row: `q` is `d` delayed by `depth` rising edges of `clk`;
/// an edge with `rst` high loads zero into every register (unless the pipe was made
/// [`Pipe::without_reset`], which ignores `rst`).
#[derive(LogicBlock)]
pub struct Pipe<T: Synth> {
    pub clk: Signal<In, Clock>,
    pub rst: Signal<In, Bit>,
    pub d: Signal<In, T>,
    pub q: Signal<Out, T>,
    regs: Vec<DFF<T>>,
    zero: Constant<T>,
    /// 1: `rst` loads zero; 0: `rst` is ignored (folds away in synthesis).
    resets: Constant<Bit>,
}

impl<T: Synth> Pipe<T> {
    /// # Panics
    /// If `depth` is 0 (a wire is not a pipeline register: leave the `Pipe` out).
    pub fn new(depth: usize) -> Pipe<T> {
        Pipe::with_reset(depth, true)
    }

    /// `depth` registers that `rst` does not reach (see the module documentation).
    ///
    /// # Panics
    /// If `depth` is 0.
    pub fn without_reset(depth: usize) -> Pipe<T> {
        Pipe::with_reset(depth, false)
    }

    fn with_reset(depth: usize, resets: bool) -> Pipe<T> {
        assert!(
            depth >= 1,
            "a Pipe needs at least one register, got depth 0"
        );
        Pipe {
            clk: Default::default(),
            rst: Default::default(),
            d: Default::default(),
            q: Default::default(),
            regs: (0..depth).map(|_| DFF::default()).collect(),
            zero: Constant::new(T::default()),
            resets: Constant::new(resets),
        }
    }

    pub fn depth(&self) -> usize {
        self.regs.len()
    }

    /// Whether `rst` loads zero.
    pub fn resets(&self) -> bool {
        self.resets.val()
    }
}

impl<T: Synth> Logic for Pipe<T> {
    #[hdl_gen]
    fn update(&mut self) {
        // Register 0 takes `d`, register i takes register i-1, `q` is the last one.
        // (Written without reusing a variable, so that no tool sees a combinational
        // path from `d` to `q`.)
        self.regs[0].clock.next = self.clk.val();
        self.regs[0].d.next = self.d.val();
        if self.rst.val() & self.resets.val() {
            self.regs[0].d.next = self.zero.val();
        }
        for i in 1..self.regs.len() {
            self.regs[i].clock.next = self.clk.val();
            self.regs[i].d.next = self.regs[i - 1].q.val();
            if self.rst.val() & self.resets.val() {
                self.regs[i].d.next = self.zero.val();
            }
        }
        for i in (self.regs.len() - 1)..self.regs.len() {
            self.q.next = self.regs[i].q.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::yosys_check_hierarchy;

    fn clock(p: &mut Pipe<Bits<8>>) {
        assert!(simulate(p, 100));
        p.clk.next = true.into();
        assert!(simulate(p, 100));
        p.clk.next = false.into();
        assert!(simulate(p, 100));
    }

    #[test]
    fn delays_by_depth_and_resets_to_zero() {
        for depth in 1..=3 {
            let mut p = Pipe::<Bits<8>>::new(depth);
            p.connect_all();
            let mut seen = vec![];
            for t in 0..8u64 {
                p.d.next = (t + 10).into();
                p.rst.next = t == 5;
                clock(&mut p);
                seen.push(p.q.val().to_u64());
            }
            // After edge t the output holds d of edge t-depth+1, or 0 before the
            // first value and after the reset at edge 5 (which clears every register).
            for (t, &q) in seen.iter().enumerate() {
                let src = t as i64 - depth as i64 + 1;
                let want = if src < 0 || (src <= 5 && t >= 5) {
                    0
                } else {
                    src as u64 + 10
                };
                assert_eq!(q, want, "depth {depth} edge {t}");
            }
        }
    }

    /// Without reset, `rst` changes nothing: the output is `d` delayed, from zero.
    #[test]
    fn without_reset_ignores_rst() {
        let mut p = Pipe::<Bits<8>>::without_reset(2);
        p.connect_all();
        assert!(!p.resets());
        let mut seen = vec![];
        for t in 0..6u64 {
            p.d.next = (t + 10).into();
            p.rst.next = t == 3;
            clock(&mut p);
            seen.push(p.q.val().to_u64());
        }
        assert_eq!(seen, [0, 10, 11, 12, 13, 14]);
    }

    #[test]
    #[should_panic(expected = "depth 0")]
    fn depth_zero_is_refused() {
        let _ = Pipe::<Bit>::new(0);
    }

    #[test]
    fn synthesizes_cleanly() {
        let mut p = Pipe::<Bits<8>>::new(2);
        p.connect_all();
        yosys_check_hierarchy("pipe", &generate_verilog(&p)).unwrap();
        let mut p = Pipe::<Bits<8>>::without_reset(2);
        p.connect_all();
        yosys_check_hierarchy("pipe_without_reset", &generate_verilog(&p)).unwrap();
    }
}

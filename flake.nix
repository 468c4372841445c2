{
  description = "TCP co-design kit: descriptor spec, validator RTL, Verilator, iCE40 flow";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
    flake-utils.url = "github:numtide/flake-utils";
  };

  outputs = { self, nixpkgs, flake-utils }:
    flake-utils.lib.eachDefaultSystem (system:
      let pkgs = import nixpkgs { inherit system; };
      in {
        # The same toolchain scripts/setup installs on Debian/Ubuntu.
        devShells.default = pkgs.mkShell {
          packages = with pkgs; [
            rustc cargo rustfmt clippy
            verilator yosys nextpnr icestorm iverilog
            pkg-config udev gcc gnumake
          ];
          # Tell the flows where the tools are, as the Debian packages do.
          shellHook = ''
            export VERILATOR=${pkgs.verilator}/bin/verilator
            export YOSYS=${pkgs.yosys}/bin/yosys
            export NEXTPNR_ICE40=${pkgs.nextpnr}/bin/nextpnr-ice40
            export ICEPACK=${pkgs.icestorm}/bin/icepack
          '';
        };
      });
}

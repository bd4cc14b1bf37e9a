//! Builds the wasm components the tests load (scripts/build-wasm), so that
//! `cargo test` alone builds everything it needs.

use std::path::Path;
use std::process::Command;

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir)
        .parent()
        .expect("tests/ sits in the workspace root");
    for watched in [
        "wit",
        "plugin",
        "tests/guests",
        "scripts/build-wasm",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let mut command = Command::new("sh");
    command
        .arg(root.join("scripts/build-wasm"))
        .current_dir(root);
    // The inner cargo builds another target into its own target directory; it
    // must not inherit what the outer cargo set for this build script.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        let inherited_from_outer_build =
            (name.starts_with("CARGO_") && name != "CARGO_HOME" && name != "CARGO_MAKEFLAGS")
                || [
                    "RUSTFLAGS",
                    "RUSTC_WRAPPER",
                    "RUSTC_WORKSPACE_WRAPPER",
                    "TARGET",
                    "HOST",
                    "OUT_DIR",
                    "PROFILE",
                    "OPT_LEVEL",
                    "DEBUG",
                    "NUM_JOBS",
                    "RUSTC_LINKER",
                ]
                .contains(&name.as_str());
        if inherited_from_outer_build {
            command.env_remove(&name);
        }
    }
    let status = command.status().expect("cannot run scripts/build-wasm");
    assert!(status.success(), "scripts/build-wasm failed: {status}");
    let wasm_dir = root.join("target/wasm/wasm32-wasip2/release");
    println!("cargo:rustc-env=CORRIDOR_WASM_DIR={}", wasm_dir.display());
    println!("cargo:rustc-env=CORRIDOR_ROOT={}", root.display());
}

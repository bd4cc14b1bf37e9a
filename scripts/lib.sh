# Shared by the scripts in this folder. POSIX sh.

# Installs the wasm32-wasip2 target for the toolchain in rust-toolchain.toml
# when it is missing (a fresh machine has only the host target).
ensure_wasm_target() {
    if ! command -v rustup >/dev/null 2>&1; then
        if rustc --print target-libdir --target wasm32-wasip2 >/dev/null 2>&1 \
            && [ -d "$(rustc --print target-libdir --target wasm32-wasip2)" ]; then
            return 0
        fi
        echo "corridor: the wasm32-wasip2 target is missing and rustup is not available to install it" >&2
        exit 1
    fi
    if ! rustup target list --installed | grep -qx wasm32-wasip2; then
        echo "corridor: installing the wasm32-wasip2 target (once)" >&2
        rustup target add wasm32-wasip2
    fi
}

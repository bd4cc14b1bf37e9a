//! The WIT bindings. Generated for every target: the types are plain Rust, so
//! the protocol modules use them in native unit tests; the imports are only
//! called from `component`, which exists only in the wasm build.

// The generated canonical-ABI glue is the only unsafe code in the connector.
#![allow(unsafe_code, missing_docs, clippy::all)]

wit_bindgen::generate!({
    path: "../../wit",
    world: "connector",
    pub_export_macro: true,
});

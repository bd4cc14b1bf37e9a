//! Host-side bindings of the WIT contract (`wit/connector.wit`).
//!
//! Every import is async: a connector waiting on HTTP or the store holds no
//! thread. Imports cannot trap the guest; failures reach it as WIT error values.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "connector",
    imports: { default: async },
    exports: { default: async },
    additional_derives: [serde::Serialize, serde::Deserialize, PartialEq, Eq],
});

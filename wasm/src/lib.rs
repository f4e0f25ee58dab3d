//! feedback-wasm: the WebAssembly facade over `feedback-core` that council web forms embed.
//!
//! Not built out yet: the bindings arrive with the web-demo work. For now it proves the core links.
#![warn(missing_docs)]

pub use feedback_core::{Policy, assess};

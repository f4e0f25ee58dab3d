//! Compiles the embedded Kent policy at build time: the TOML files (policy, English cues, kind model and
//! bank holidays, embedded in `feedback-core`) are parsed and checked by the engine's own loader here,
//! and the module embeds the compact bytes (`Policy::from_compiled`), so it links no TOML parser. The
//! files stay the single source of truth: a change to any of them rebuilds `feedback-core` and so reruns
//! this script. The same files always give the same bytes.

use std::path::PathBuf;

use feedback_core::Policy;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo::rerun-if-changed=build.rs");
    // Rebuilding feedback-core reruns this script anyway; naming the files makes it explicit.
    println!("cargo::rerun-if-changed=../core/policy");
    // The same policy the module has always served: Kent's file with the shared English cues and kind
    // model (`Policy::load_with_default_cues`).
    let bytes = Policy::compile_with_default_cues(Policy::kent_source())?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("kent.policy");
    std::fs::write(out, bytes)?;
    Ok(())
}

//! Writes the sample function URL events and their manifest into `events/`.
//!
//! Run after changing `src/samples.rs`: `cargo run --example generate-events`.

use merge_deprovision_samples::{
    DOWNSTREAM_SAMPLE_FILE, MANIFEST_FILE, downstream_sample, manifest, samples,
};
use std::path::Path;

fn main() -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    std::fs::create_dir_all(&dir)?;
    let samples = samples();
    for sample in &samples {
        std::fs::write(dir.join(sample.file_name()), sample.render())?;
    }
    std::fs::write(dir.join(MANIFEST_FILE), manifest(&samples))?;
    let downstream = dir.join(DOWNSTREAM_SAMPLE_FILE);
    std::fs::create_dir_all(downstream.parent().expect("the file is in a folder"))?;
    std::fs::write(downstream, downstream_sample())?;
    println!(
        "wrote {} events and {MANIFEST_FILE} to {}",
        samples.len(),
        dir.display()
    );
    Ok(())
}

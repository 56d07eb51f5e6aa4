//! `idverifd document read`: an ID card (front and/or back) or a passport page from still images.

use std::path::PathBuf;

use idverifd::vision;

use super::{Failure, models_dir, print_json};

#[derive(clap::Subcommand, Debug)]
pub enum DocumentCommand {
    /// Fields, MRZ checks and every inconsistency found.
    Read {
        #[arg(long)]
        json: bool,
        /// The day against which age and expiry are judged (YYYY-MM-DD; default today).
        #[arg(long)]
        on: Option<String>,
        #[arg(long)]
        models: Option<PathBuf>,
        #[arg(required = true, num_args = 1..=2)]
        images: Vec<PathBuf>,
    },
}

pub fn run(command: DocumentCommand) -> Result<u8, Failure> {
    match command {
        DocumentCommand::Read { json, on, models, images } => document_read(json, on, models, &images),
    }
}

fn document_read(json: bool, on: Option<String>, models: Option<PathBuf>, images: &[PathBuf]) -> Result<u8, Failure> {
    use idverifd::identity::{self, Date};
    // Without --on the system clock's day, on purpose (a clerk reading a card today);
    // the output names the day either way, so a wrong clock shows.
    let (on, day_from): (Date, &str) = match on {
        Some(text) => (text.parse().map_err(|e| Failure(2, format!("--on {text:?}: {e}; write YYYY-MM-DD")))?, "--on"),
        None => (identity::today_utc(), "system clock"),
    };
    let mut reader = vision::reader::DocumentReader::load(&models_dir(models, None)).map_err(|e| Failure(2, e.to_string()))?;
    let mut sides = Vec::new();
    for path in images {
        let image = vision::read_image(path).map_err(|e| Failure(2, e.to_string()))?;
        let side = reader.read_side(&image, on).map_err(|e| Failure(3, e.to_string()))?;
        if side.shape.is_none() {
            eprintln!("{}: no document found in the image", path.display());
        }
        sides.push(side);
    }
    // A card's front and back are separate images: its printed names are checked
    // against the back's MRZ (and re-read) once both are in.
    let (front, mrz) = reader.combine(&mut sides).map_err(|e| Failure(3, e.to_string()))?;
    let read = identity::document::assemble(front.as_ref(), mrz.as_ref(), on);
    if json {
        let mut value = serde_json::to_value(&read).unwrap_or_default();
        if let Some(fields) = value.as_object_mut() {
            fields.insert("judged_on".into(), serde_json::json!(on.to_string()));
        }
        print_json(&value);
    } else {
        eprintln!("age and expiry judged on {on} ({day_from})");
        for p in &read.problems {
            eprintln!("problem: {} — {}", p.code, p.message);
        }
        eprintln!("{}", if read.consistent() { "document read, no problems" } else { "document read with problems" });
    }
    Ok(if read.consistent() { 0 } else { 1 })
}

//! Reading fictitious documents rendered by tests/fixtures/gen_documents.py with
//! `idverifd document read`, and their ground truth.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The documents `args` describe, rendered into a new temporary directory.
pub fn render(name: &str, args: &[&str]) -> PathBuf {
    let dir = super::temp_dir(name);
    super::render_documents(&dir, args);
    dir
}

pub fn truth_in(dir: &Path, name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap()).unwrap()
}

/// `idverifd document read --json` on `images`: its exit code and its JSON.
pub fn read(images: &[PathBuf]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_idverifd"))
        .args(["document", "read", "--json", "--on", "2026-11-21"])
        .args(images)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (code, value)
}

/// The codes of the problems a read reports.
pub fn codes(read: &Value) -> Vec<String> {
    read["problems"].as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap().to_string()).collect()
}

/// The images of the named sides in `dir`, in order.
pub fn images_in<const N: usize>(dir: &Path, sides: [&str; N]) -> [PathBuf; N] {
    sides.map(|n| dir.join(truth_in(dir, n)["image"].as_str().unwrap()))
}

/// [`images_in`] for a document of one side or two.
pub fn side_images(dir: &Path, sides: &[&str]) -> Vec<PathBuf> {
    sides.iter().map(|n| dir.join(truth_in(dir, n)["image"].as_str().unwrap())).collect()
}

/// Each of `fields` read as the generator printed it.
pub fn assert_read_as_printed(got: &Value, t: &Value, fields: &[&str]) {
    for field in fields {
        assert_eq!(got[*field], t[*field], "{field}");
    }
}

/// The side `t` describes turned by `degrees` (counter-clockwise as seen), in
/// the scan's background colour; `grow`: the image grown to hold its corners,
/// as a scanner takes a card laid askew with its margin.
pub fn laid_askew(dir: &Path, t: &Value, degrees: f64, grow: bool) -> PathBuf {
    use opencv::core::{Point2f, Rect2f, Scalar, Size, Vector};
    use opencv::{imgcodecs, imgproc, prelude::*};
    let page = imgcodecs::imread(dir.join(t["image"].as_str().unwrap()).to_str().unwrap(), imgcodecs::IMREAD_COLOR).unwrap();
    let centre = Point2f::new(page.cols() as f32 / 2.0, page.rows() as f32 / 2.0);
    let mut turn = imgproc::get_rotation_matrix_2d(centre, degrees, 1.0).unwrap();
    let mut size = page.size().unwrap();
    if grow {
        let bounds: Rect2f = opencv::core::RotatedRect::new(centre, opencv::core::Size2f::new(page.cols() as f32, page.rows() as f32), degrees as f32).unwrap().bounding_rect2f().unwrap();
        size = Size::new(bounds.width.ceil() as i32, bounds.height.ceil() as i32);
        *turn.at_2d_mut::<f64>(0, 2).unwrap() += f64::from(size.width - page.cols()) / 2.0;
        *turn.at_2d_mut::<f64>(1, 2).unwrap() += f64::from(size.height - page.rows()) / 2.0;
    }
    let rgb = t["capture"]["framing"]["background_rgb"].as_array().map(|c| c.iter().map(|v| v.as_f64().unwrap()).collect::<Vec<_>>()).unwrap_or(vec![255.0; 3]);
    let fill = Scalar::new(rgb[2], rgb[1], rgb[0], 0.0);
    let mut askew = Mat::default();
    imgproc::warp_affine(&page, &mut askew, &turn, size, imgproc::INTER_LINEAR, opencv::core::BORDER_CONSTANT, fill).unwrap();
    let path = dir.join(format!("{}_askew_{degrees}.png", t["image"].as_str().unwrap().trim_end_matches(".png")));
    imgcodecs::imwrite(path.to_str().unwrap(), &askew, &Vector::new()).unwrap();
    path
}

/// The image at `path` turned a quarter (`clockwise` or not), written beside it
/// as `<stem>_<way>.<ext>`: PNG, or JPEG at quality 92 when `ext` is "jpg".
pub fn turned_a_quarter(path: &Path, clockwise: bool, ext: &str) -> PathBuf {
    use opencv::{core, imgcodecs, prelude::*};
    let image = imgcodecs::imread(path.to_str().unwrap(), imgcodecs::IMREAD_COLOR).unwrap();
    let mut turned = Mat::default();
    core::rotate(&image, &mut turned, if clockwise { core::ROTATE_90_CLOCKWISE } else { core::ROTATE_90_COUNTERCLOCKWISE }).unwrap();
    let way = if clockwise { "clockwise" } else { "anticlockwise" };
    let out = path.with_file_name(format!("{}_{way}.{ext}", path.file_stem().unwrap().to_str().unwrap()));
    let params = if ext == "jpg" { core::Vector::from_slice(&[imgcodecs::IMWRITE_JPEG_QUALITY, 92]) } else { core::Vector::new() };
    imgcodecs::imwrite(out.to_str().unwrap(), &turned, &params).unwrap();
    out
}

//! The OCR-B glyph reader's acceptance margins (`GLYPH_MIN_SCORE`, `GLYPH_MIN_LETTER_MARGIN`
//! in src/vision/ocr.rs) judged on a CHECK SET the tuning never used: MRZs of random people
//! drawn here (seeds 7001–7032, not tests/fixtures/gen_documents.py's people), rendered with
//! OCR-B Regular and with OCR-B Sharp (OCRBS.otf: another outline; the templates and the
//! tuning documents use OCRB.otf only), from a sharp 48 px print down to a blurred, noisy,
//! JPEG-crushed 24 px one where most reads are wrong, and out of focus (blurred past the
//! strokes' width, where the reader asks its blurred templates too, as ocr.rs does). A user
//! would notice a wrong name or number taken from the glyph reader without Tesseract's
//! second look: there must be none.
//! The margins' statistics per condition are printed, with the wrong reads whose check
//! digits all pass (names misread: only the letter margin refuses those):
//! `cargo test --test mrz_margins -- --nocapture`.

use std::path::Path;

use idverifd::identity::mrz::check_digit;
use idverifd::identity::{Mrz, MrzFormat};
use idverifd::vision::mrz_glyphs::{GlyphRead, GlyphReader, OCRB_FONT};
use opencv::core::{self, CV_8UC3, Mat, Point, Scalar, Size, Vector};
use opencv::prelude::*;
use opencv::{imgcodecs, imgproc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const OCRB_SHARP: &str = "/usr/share/fonts/opentype/ocr-b/OCRBS.otf";
/// People per format: as many TD1 (ID card) as TD3 (passport) zones.
const PEOPLE: u64 = 16;

fn with_check(field: &str) -> String {
    format!("{field}{}", check_digit(field.as_bytes()).unwrap())
}

fn letters(rng: &mut StdRng, len: usize) -> String {
    (0..len).map(|_| rng.gen_range(b'A'..=b'Z') as char).collect()
}

fn digits(rng: &mut StdRng, len: usize) -> String {
    (0..len).map(|_| rng.gen_range(b'0'..=b'9') as char).collect()
}

fn date(rng: &mut StdRng, years: std::ops::Range<u32>) -> String {
    format!("{:02}{:02}{:02}", rng.gen_range(years) % 100, rng.gen_range(1..=12), rng.gen_range(1..=28))
}

fn names(rng: &mut StdRng, width: usize) -> String {
    let (surname, given) = (rng.gen_range(4..=12), rng.gen_range(3..=9));
    let mut field = format!("{}<<{}", letters(rng, surname), letters(rng, given));
    if rng.gen_bool(0.3) {
        field.push('<');
        let len = rng.gen_range(3..=8);
        field.push_str(&letters(rng, len));
    }
    format!("{field:<<width$}")
}

/// A Kazakh ID card's TD1 zone or a passport's TD3 zone, every check digit right.
fn person(seed: u64, format: MrzFormat) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let birth = date(&mut rng, 1950..2010);
    let iin = format!("{birth}{}", digits(&mut rng, 6));
    let (number, sex, expiry) = (digits(&mut rng, 9), if rng.gen_bool(0.5) { "M" } else { "F" }, date(&mut rng, 2027..2037));
    let lines = match format {
        MrzFormat::Td1 => {
            let line1 = format!("IDKAZ{}{iin}<<<", with_check(&number));
            let line2 = format!("{}{sex}{}KAZ<<<<<<<<<<<", with_check(&birth), with_check(&expiry));
            let composite = format!("{}{}{}{}", &line1[5..30], &line2[0..7], &line2[8..15], &line2[18..29]);
            vec![line1, format!("{line2}{}", check_digit(composite.as_bytes()).unwrap()), names(&mut rng, 30)]
        }
        MrzFormat::Td3 => {
            let personal = with_check(&format!("{iin}<<"));
            let line2 = format!("{}KAZ{}{sex}{}{personal}", with_check(&number), with_check(&birth), with_check(&expiry));
            let composite = format!("{}{}{}", &line2[0..10], &line2[13..20], &line2[21..43]);
            vec![format!("P<KAZ{}", names(&mut rng, 39)), format!("{line2}{}", check_digit(composite.as_bytes()).unwrap())]
        }
    };
    assert!(Mrz::parse(&lines).is_ok_and(|m| m.valid()), "generated zone invalid: {lines:?}");
    lines
}

struct Condition {
    font: &'static str,
    size: i32,
    blur: f64,
    /// Sensor noise (grey levels) and a JPEG round trip at this quality.
    noise_and_jpeg: Option<(f64, i32)>,
}

/// The zone printed as a document's MRZ band at `condition`, in grey.
fn band(lines: &[String], c: &Condition) -> Mat {
    let mut renderer = opencv::freetype::create_free_type2().unwrap();
    renderer.load_font_data(c.font, 0).unwrap();
    let pitch = c.size * 50 / 41;
    let mut image = Mat::new_rows_cols_with_default(2 * pitch + pitch * lines.len() as i32, c.size * 34, CV_8UC3, Scalar::new(200.0, 210.0, 220.0, 0.0)).unwrap();
    for (i, line) in lines.iter().enumerate() {
        renderer.put_text(&mut image, line, Point::new(30, pitch + 10 + pitch * i as i32), c.size, Scalar::all(20.0), -1, imgproc::LINE_AA, false).unwrap();
    }
    let mut gray = Mat::default();
    imgproc::cvt_color_def(&image, &mut gray, imgproc::COLOR_BGR2GRAY).unwrap();
    if c.blur > 0.0 {
        let mut blurred = Mat::default();
        imgproc::gaussian_blur_def(&gray, &mut blurred, Size::new(0, 0), c.blur).unwrap();
        gray = blurred;
    }
    if let Some((sigma, quality)) = c.noise_and_jpeg {
        let mut noise = Mat::new_rows_cols_with_default(gray.rows(), gray.cols(), core::CV_16SC1, Scalar::all(0.0)).unwrap();
        core::randn(&mut noise, &Scalar::all(0.0), &Scalar::all(sigma)).unwrap();
        let mut wide = Mat::default();
        gray.convert_to_def(&mut wide, core::CV_16SC1).unwrap();
        let mut noisy = Mat::default();
        core::add_def(&wide, &noise, &mut noisy).unwrap();
        noisy.convert_to_def(&mut gray, core::CV_8UC1).unwrap();
        let mut jpeg = Vector::<u8>::new();
        imgcodecs::imencode(".jpg", &gray, &mut jpeg, &Vector::from_slice(&[imgcodecs::IMWRITE_JPEG_QUALITY, quality])).unwrap();
        gray = imgcodecs::imdecode(&jpeg, imgcodecs::IMREAD_GRAYSCALE).unwrap();
    }
    gray
}

#[derive(Default)]
struct Tally {
    reads: usize,
    right: usize,
    /// Wrong reads the reader would take without Tesseract (every check digit passes too).
    wrong_accepted: Vec<String>,
    right_refused: usize,
    right_margins: Vec<f32>,
    right_weakest: Vec<f32>,
    wrong_margins: Vec<f32>,
    /// Letter margins of wrong reads whose check digits all pass: only the margins stand
    /// between these and a wrong name.
    wrong_valid_margins: Vec<f32>,
}

fn percentile(values: &[f32], p: f64) -> String {
    if values.is_empty() {
        return "-".into();
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    format!("{:.3}", sorted[((sorted.len() - 1) as f64 * p).round() as usize])
}

#[test]
fn glyph_reads_taken_without_tesseract_are_right_on_fonts_sizes_and_people_the_margins_never_saw() {
    let (min_score, min_margin) = (idverifd::vision::ocr::GLYPH_MIN_SCORE, idverifd::vision::ocr::GLYPH_MIN_LETTER_MARGIN);
    let reader = GlyphReader::load(Path::new(OCRB_FONT)).expect("fonts-ocr-b (scripts/setup)");
    let mut conditions = Vec::new();
    // From a sharp print at the documents' size to a small, blurred, noisy and
    // JPEG-crushed one, where the reader starts to misread.
    for font in [OCRB_FONT, OCRB_SHARP] {
        for (size, blur, noise_and_jpeg) in
            [
                (41, 0.0, None),
                (48, 1.5, None),
                (34, 1.0, Some((8.0, 60))),
                (28, 2.0, Some((12.0, 40))),
                (24, 2.5, Some((16.0, 30))),
                // Out of focus: blurred past the strokes' width, as hard tuning photos show an MRZ.
                (41, 4.5, None),
                (34, 3.5, Some((8.0, 60))),
            ]
        {
            conditions.push(Condition { font, size, blur, noise_and_jpeg });
        }
    }
    let zones: Vec<(MrzFormat, Vec<String>)> = (0..PEOPLE)
        .flat_map(|i| [(MrzFormat::Td1, person(7001 + 2 * i, MrzFormat::Td1)), (MrzFormat::Td3, person(7002 + 2 * i, MrzFormat::Td3))])
        .collect();

    println!("\nMRZ glyph margins, check set: {} zones (TD1 and TD3) per condition; taken when weakest >= {min_score} and letter margins (letters; letter or digit) >= {min_margin}", zones.len());
    println!("{:<8} {:>4} {:>4} {:<9} {:>5} {:>5} {:>7} {:>9} {:>6} {:>6} {:>7} {:>5} {:>9} {:>8} {:>10}",
        "font", "size", "blur", "noise/jpg", "reads", "right", "refused", "margin p0", "p5", "p50", "weak p0", "wrong", "wrong max", "cd pass", "cd max"
    );
    let mut all = Tally::default();
    for c in &conditions {
        let mut tally = Tally::default();
        for (format, truth) in &zones {
            let band = band(truth, c);
            let valid = |read: &GlyphRead| Mrz::parse(&read.lines).is_ok_and(|m| m.valid());
            let taken = |read: &GlyphRead| {
                read.weakest >= min_score && read.letter_margin() >= min_margin && read.mixed_margin >= min_margin && valid(read)
            };
            // As the MRZ reader asks them: the blurred templates only when the
            // print templates leave the read unsure.
            let read: Option<GlyphRead> = match reader.read(&band, *format).unwrap() {
                Some(print) if taken(&print) => Some(print),
                print => reader.read_blurred(&band, *format).unwrap().filter(taken).or(print),
            };
            tally.reads += 1;
            let Some(read) = read else { continue };
            let valid = valid(&read);
            let accepted = taken(&read);
            if read.lines == *truth {
                tally.right += 1;
                tally.right_margins.push(read.letter_margin());
                tally.right_weakest.push(read.weakest);
                tally.right_refused += usize::from(!accepted);
            } else {
                tally.wrong_margins.push(read.letter_margin());
                if valid {
                    tally.wrong_valid_margins.push(read.letter_margin());
                }
                if accepted {
                    tally.wrong_accepted.push(format!("{truth:?} read {:?} (margin {:.3})", read.lines, read.letter_margin()));
                }
            }
        }
        let font = Path::new(c.font).file_stem().unwrap().to_string_lossy().to_string();
        let degraded = c.noise_and_jpeg.map_or("-".into(), |(s, q)| format!("{s}/{q}"));
        let wrong_max = tally.wrong_margins.iter().cloned().fold(f32::NAN, f32::max);
        println!(
            "{font:<8} {:>4} {:>4.1} {degraded:<9} {:>5} {:>5} {:>7} {:>9} {:>6} {:>6} {:>7} {:>5} {:>9} {:>8} {:>10}",
            c.size,
            c.blur,
            tally.reads,
            tally.right,
            tally.right_refused,
            percentile(&tally.right_margins, 0.0),
            percentile(&tally.right_margins, 0.05),
            percentile(&tally.right_margins, 0.5),
            percentile(&tally.right_weakest, 0.0),
            tally.wrong_margins.len(),
            if wrong_max.is_nan() { "-".into() } else { format!("{wrong_max:.3}") },
            tally.wrong_valid_margins.len(),
            percentile(&tally.wrong_valid_margins, 1.0),
        );
        all.reads += tally.reads;
        all.right += tally.right;
        all.right_refused += tally.right_refused;
        all.right_margins.extend(tally.right_margins);
        all.right_weakest.extend(tally.right_weakest);
        all.wrong_margins.extend(tally.wrong_margins);
        all.wrong_valid_margins.extend(tally.wrong_valid_margins);
        all.wrong_accepted.extend(tally.wrong_accepted);
    }
    println!(
        "all: {} reads, {} right ({} of them sent to Tesseract), {} wrong (letter margin max {}; {} with every check digit passing, margin max {}), {} wrong taken; right reads' letter margin p0 {} p5 {} p50 {}, weakest p0 {}",
        all.reads,
        all.right,
        all.right_refused,
        all.wrong_margins.len(),
        percentile(&all.wrong_margins, 1.0),
        all.wrong_valid_margins.len(),
        percentile(&all.wrong_valid_margins, 1.0),
        all.wrong_accepted.len(),
        percentile(&all.right_margins, 0.0),
        percentile(&all.right_margins, 0.05),
        percentile(&all.right_margins, 0.5),
        percentile(&all.right_weakest, 0.0),
    );
    assert!(all.wrong_accepted.is_empty(), "wrong MRZ reads taken without Tesseract:\n{}", all.wrong_accepted.join("\n"));
    // The check set must exercise the reader: most clean reads come out right.
    assert!(all.right * 2 > all.reads, "only {} of {} zones read right", all.right, all.reads);
}

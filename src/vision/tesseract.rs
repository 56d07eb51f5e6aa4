//! Tesseract through its own C API (libtesseract, Debian's libtesseract-dev),
//! instead of OpenCV's `OCRTesseract` wrapper: the grey `Mat` is handed over in
//! place, the page layout is chosen per call (one engine reads both single lines
//! and blocks), dictionaries are never loaded, and Tesseract's OpenMP threads are
//! switched off inside the process (see [`run_openmp_serially`]). One engine per
//! thread: a handle is not shareable, so the type is `Send` but not `Sync`.

use std::ffi::{CStr, CString, c_char, c_int, c_uchar};
use std::path::Path;
use std::ptr::NonNull;

use opencv::core::{CV_8UC1, Mat};
use opencv::prelude::*;

use super::VisionError;

#[repr(C)]
struct TessBaseApi {
    _opaque: [u8; 0],
}

#[repr(C)]
struct TessResultIterator {
    _opaque: [u8; 0],
}

#[repr(C)]
struct TessPageIterator {
    _opaque: [u8; 0],
}

/// `TessPageIteratorLevel::RIL_SYMBOL`.
const RIL_SYMBOL: c_int = 4;

/// `TessOcrEngineMode::OEM_LSTM_ONLY`.
const OEM_LSTM_ONLY: c_int = 1;

#[link(name = "tesseract")]
unsafe extern "C" {
    fn TessBaseAPICreate() -> *mut TessBaseApi;
    fn TessBaseAPIDelete(handle: *mut TessBaseApi);
    fn TessBaseAPIEnd(handle: *mut TessBaseApi);
    fn TessBaseAPIInit4(
        handle: *mut TessBaseApi,
        datapath: *const c_char,
        language: *const c_char,
        mode: c_int,
        configs: *mut *mut c_char,
        configs_size: c_int,
        vars_vec: *mut *mut c_char,
        vars_values: *mut *mut c_char,
        vars_vec_size: usize,
        set_only_non_debug_params: c_int,
    ) -> c_int;
    fn TessBaseAPISetVariable(handle: *mut TessBaseApi, name: *const c_char, value: *const c_char) -> c_int;
    fn TessBaseAPISetPageSegMode(handle: *mut TessBaseApi, mode: c_int);
    fn TessBaseAPISetImage(
        handle: *mut TessBaseApi,
        imagedata: *const c_uchar,
        width: c_int,
        height: c_int,
        bytes_per_pixel: c_int,
        bytes_per_line: c_int,
    );
    fn TessBaseAPISetSourceResolution(handle: *mut TessBaseApi, ppi: c_int);
    fn TessBaseAPIGetUTF8Text(handle: *mut TessBaseApi) -> *mut c_char;
    fn TessBaseAPIClear(handle: *mut TessBaseApi);
    fn TessDeleteText(text: *const c_char);
    fn TessBaseAPIGetIterator(handle: *mut TessBaseApi) -> *mut TessResultIterator;
    fn TessResultIteratorDelete(iterator: *mut TessResultIterator);
    fn TessResultIteratorNext(iterator: *mut TessResultIterator, level: c_int) -> c_int;
    fn TessResultIteratorGetUTF8Text(iterator: *const TessResultIterator, level: c_int) -> *mut c_char;
    fn TessResultIteratorConfidence(iterator: *const TessResultIterator, level: c_int) -> f32;
    fn TessResultIteratorGetPageIterator(iterator: *mut TessResultIterator) -> *mut TessPageIterator;
    fn TessPageIteratorBoundingBox(
        iterator: *const TessPageIterator,
        level: c_int,
        left: *mut c_int,
        top: *mut c_int,
        right: *mut c_int,
        bottom: *mut c_int,
    ) -> c_int;
}

/// Tesseract's page segmentation modes that this crate uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// "A single text line" (PSM 7): no layout analysis at all.
    Line = 7,
    /// "Treat the image as a single text line, bypassing hacks that are
    /// Tesseract-specific" (PSM 13).
    RawLine = 13,
}

pub struct Tesseract {
    handle: NonNull<TessBaseApi>,
    reads_mrz: bool,
}

/// How many recognitions this thread asked Tesseract for, and the time they
/// took: the benchmark prints them per document, to show where a read's time goes.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadCount {
    pub reads: u32,
    pub ms: f64,
    /// Of those, the MRZ rows read by Tesseract (where the glyph reader was unsure).
    pub mrz_reads: u32,
    pub mrz_ms: f64,
    /// The images' width over their height, summed: the LSTM's work grows with a
    /// line's length at the height it scales every line to.
    pub aspect: f64,
}

thread_local! {
    static READS: std::cell::Cell<ReadCount> =
        const { std::cell::Cell::new(ReadCount { reads: 0, ms: 0.0, mrz_reads: 0, mrz_ms: 0.0, aspect: 0.0 }) };
}

/// The MRZ's Tesseract model (ocr.rs), whose reads the count keeps apart.
pub const MRZ_LANGUAGE: &str = "mrz";

/// This thread's recognitions since the last call, and resets the count.
pub fn take_read_count() -> ReadCount {
    READS.with(|r| r.take())
}

// A handle is used by one thread at a time (`&mut self`); moving it is fine.
unsafe impl Send for Tesseract {}

fn c_string(what: &str, value: &str) -> Result<CString, VisionError> {
    CString::new(value).map_err(|_| VisionError::Ocr(format!("{what} holds a NUL byte")))
}

/// Debian builds Tesseract with OpenMP, and its LSTM runs every gate of every
/// step as a parallel section. On two cores shared with capture and face
/// analysis the threads mostly wait on each other: measured 550 ms for a card
/// back with them, 170 ms without. `OMP_THREAD_LIMIT` cannot help from inside the
/// process (libgomp reads it when it is loaded, before `main`), but setting the
/// runtime's maximum of active parallel levels to zero makes every parallel
/// region run on the calling thread. Looked up at run time: libgomp is loaded
/// as Tesseract's dependency, and a build without OpenMP simply lacks it.
/// OpenCV's own parallel loops run on TBB in Debian's build and keep their threads.
fn run_openmp_serially() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: dlsym with a NUL-terminated name; the symbol, when present, has
        // the C signature `void omp_set_max_active_levels(int)`.
        unsafe {
            let symbol = libc::dlsym(libc::RTLD_DEFAULT, c"omp_set_max_active_levels".as_ptr());
            if !symbol.is_null() {
                let set_max_active_levels: extern "C" fn(c_int) = std::mem::transmute(symbol);
                set_max_active_levels(0);
            }
        }
    });
}

impl Tesseract {
    /// Loads `DATAPATH/LANGUAGE.traineddata` with the LSTM engine, restricted to
    /// `alphabet`. Dictionaries are not loaded: names, numbers and MRZ lines are
    /// not words, and a dictionary only pulls them towards words.
    pub fn new(datapath: &Path, language: &str, alphabet: &str) -> Result<Self, VisionError> {
        let model = datapath.join(format!("{language}.traineddata"));
        if !model.exists() {
            return Err(VisionError::Model { path: model.display().to_string(), reason: "missing; run scripts/setup".into() });
        }
        run_openmp_serially();
        let datapath_c = c_string("model directory", &datapath.to_string_lossy())?;
        let language_c = c_string("language", language)?;
        // Init-only settings: they must be passed to Init, SetVariable is too late.
        let names = [c"load_system_dawg", c"load_freq_dawg", c"debug_file"];
        let values = [c"0", c"0", c"/dev/null"];
        let mut names: Vec<*mut c_char> = names.iter().map(|s| s.as_ptr().cast_mut()).collect();
        let mut values: Vec<*mut c_char> = values.iter().map(|s| s.as_ptr().cast_mut()).collect();

        // SAFETY: every pointer is valid for the call; Tesseract copies what it keeps.
        let handle = NonNull::new(unsafe { TessBaseAPICreate() })
            .ok_or_else(|| VisionError::Ocr("Tesseract could not allocate an engine".into()))?;
        let mut engine = Self { handle, reads_mrz: language == MRZ_LANGUAGE };
        let status = unsafe {
            TessBaseAPIInit4(
                engine.handle.as_ptr(),
                datapath_c.as_ptr(),
                language_c.as_ptr(),
                OEM_LSTM_ONLY,
                std::ptr::null_mut(),
                0,
                names.as_mut_ptr(),
                values.as_mut_ptr(),
                names.len(),
                0,
            )
        };
        if status != 0 {
            return Err(VisionError::Model { path: model.display().to_string(), reason: "Tesseract could not load it".into() });
        }
        engine.set_variable("tessedit_char_whitelist", alphabet)?;
        Ok(engine)
    }

    /// Sets one of Tesseract's run-time variables (an unknown one is an error).
    pub fn set_variable(&mut self, name: &str, value: &str) -> Result<(), VisionError> {
        let (name_c, value_c) = (c_string("variable name", name)?, c_string("variable value", value)?);
        // SAFETY: valid handle and NUL-terminated strings.
        let accepted = unsafe { TessBaseAPISetVariable(self.handle.as_ptr(), name_c.as_ptr(), value_c.as_ptr()) };
        if accepted == 0 {
            return Err(VisionError::Ocr(format!("Tesseract refused the setting {name}")));
        }
        Ok(())
    }

    /// Reads a single-channel 8-bit image (any stride; it is not copied) laid out as `layout`.
    pub fn read(&mut self, gray: &Mat, layout: Layout) -> Result<String, VisionError> {
        Ok(self.recognise(gray, layout, false)?.0)
    }

    /// [`Self::read`], with each recognised character and Tesseract's confidence
    /// in it (0–100): how far the LSTM's choice stood above every other letter it
    /// could have been. A read that accuses a document must be sure of each glyph.
    pub fn read_glyphs(&mut self, gray: &Mat, layout: Layout) -> Result<(String, Vec<Glyph>), VisionError> {
        self.recognise(gray, layout, true)
    }

    fn recognise(&mut self, gray: &Mat, layout: Layout, with_glyphs: bool) -> Result<(String, Vec<Glyph>), VisionError> {
        if gray.typ() != CV_8UC1 {
            return Err(VisionError::Ocr(format!("OCR needs an 8-bit grey image, got type {}", gray.typ())));
        }
        if gray.rows() < 8 || gray.cols() < 8 {
            return Ok((String::new(), Vec::new()));
        }
        let step = c_int::try_from(gray.step1(0)?).map_err(|_| VisionError::Ocr("image row too long".into()))?;
        let started = std::time::Instant::now();
        let handle = self.handle.as_ptr();
        // SAFETY: valid handle.
        unsafe { TessBaseAPISetPageSegMode(handle, layout as c_int) };
        // SAFETY: `gray` outlives the recognition below, which happens inside
        // GetUTF8Text; the iterator is read and deleted before Clear, and Clear
        // drops Tesseract's reference to the pixels before return.
        let read = unsafe {
            TessBaseAPISetImage(handle, gray.data(), gray.cols(), gray.rows(), 1, step);
            // Rendered and rectified images are about 300 dpi; saying so skips
            // Tesseract's guess (and the warning it prints).
            TessBaseAPISetSourceResolution(handle, 300);
            let raw = TessBaseAPIGetUTF8Text(handle);
            let text = (!raw.is_null()).then(|| {
                let text = CStr::from_ptr(raw).to_string_lossy().into_owned();
                TessDeleteText(raw.cast_const());
                text
            });
            let glyphs = if with_glyphs && text.is_some() { glyphs_of(handle) } else { Vec::new() };
            TessBaseAPIClear(handle);
            text.map(|t| (t, glyphs))
        };
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        READS.with(|r| {
            let mut c = r.get();
            (c.reads, c.ms) = (c.reads + 1, c.ms + ms);
            c.aspect += f64::from(gray.cols()) / f64::from(gray.rows());
            if self.reads_mrz {
                (c.mrz_reads, c.mrz_ms) = (c.mrz_reads + 1, c.mrz_ms + ms);
            }
            r.set(c);
        });
        read.ok_or_else(|| VisionError::Ocr("Tesseract failed to recognise the image".into()))
    }
}

/// One recognised character, Tesseract's confidence in it (0–100), and where
/// it stands across the image: its box's left and right edges, in pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Glyph {
    pub letter: char,
    pub confidence: f32,
    pub left: i32,
    pub right: i32,
}

/// The glyphs of the last recognition, in reading order.
///
/// # Safety
/// `handle` is valid and has just recognised an image (not yet cleared).
unsafe fn glyphs_of(handle: *mut TessBaseApi) -> Vec<Glyph> {
    let mut glyphs = Vec::new();
    // SAFETY: the iterator belongs to us until deleted; texts are freed with TessDeleteText.
    unsafe {
        let iterator = TessBaseAPIGetIterator(handle);
        if iterator.is_null() {
            return glyphs;
        }
        loop {
            let raw = TessResultIteratorGetUTF8Text(iterator, RIL_SYMBOL);
            if !raw.is_null() {
                let confidence = TessResultIteratorConfidence(iterator, RIL_SYMBOL);
                let (mut left, mut top, mut right, mut bottom) = (0, 0, 0, 0);
                TessPageIteratorBoundingBox(TessResultIteratorGetPageIterator(iterator), RIL_SYMBOL, &mut left, &mut top, &mut right, &mut bottom);
                let text = CStr::from_ptr(raw).to_string_lossy().into_owned();
                glyphs.extend(text.chars().map(|letter| Glyph { letter, confidence, left, right }));
                TessDeleteText(raw.cast_const());
            }
            if TessResultIteratorNext(iterator, RIL_SYMBOL) == 0 {
                break;
            }
        }
        TessResultIteratorDelete(iterator);
    }
    glyphs
}

impl Drop for Tesseract {
    fn drop(&mut self) {
        // SAFETY: the handle came from TessBaseAPICreate and is dropped once.
        unsafe {
            TessBaseAPIEnd(self.handle.as_ptr());
            TessBaseAPIDelete(self.handle.as_ptr());
        }
    }
}

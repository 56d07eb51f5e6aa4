//! The codes an MRZ may name a state or organisation by (issuing state,
//! nationality): ISO 3166-1 alpha-3 and the codes ICAO 9303 Part 3 adds. No
//! check digit covers them, so a code no state has is the one sign, in a read
//! whose check digits pass, that its reader slipped where they cannot see.

use super::Mrz;

/// ISO 3166-1 alpha-3, as Debian's `iso-codes` lists it (`iso_3166-1.json`; a
/// test compares the two where that file is installed).
const ISO_3166_ALPHA_3: [&str; 249] = [
    "ABW", "AFG", "AGO", "AIA", "ALA", "ALB", "AND", "ARE", "ARG", "ARM", "ASM", "ATA", "ATF", "ATG", "AUS", "AUT",
    "AZE", "BDI", "BEL", "BEN", "BES", "BFA", "BGD", "BGR", "BHR", "BHS", "BIH", "BLM", "BLR", "BLZ", "BMU", "BOL",
    "BRA", "BRB", "BRN", "BTN", "BVT", "BWA", "CAF", "CAN", "CCK", "CHE", "CHL", "CHN", "CIV", "CMR", "COD", "COG",
    "COK", "COL", "COM", "CPV", "CRI", "CUB", "CUW", "CXR", "CYM", "CYP", "CZE", "DEU", "DJI", "DMA", "DNK", "DOM",
    "DZA", "ECU", "EGY", "ERI", "ESH", "ESP", "EST", "ETH", "FIN", "FJI", "FLK", "FRA", "FRO", "FSM", "GAB", "GBR",
    "GEO", "GGY", "GHA", "GIB", "GIN", "GLP", "GMB", "GNB", "GNQ", "GRC", "GRD", "GRL", "GTM", "GUF", "GUM", "GUY",
    "HKG", "HMD", "HND", "HRV", "HTI", "HUN", "IDN", "IMN", "IND", "IOT", "IRL", "IRN", "IRQ", "ISL", "ISR", "ITA",
    "JAM", "JEY", "JOR", "JPN", "KAZ", "KEN", "KGZ", "KHM", "KIR", "KNA", "KOR", "KWT", "LAO", "LBN", "LBR", "LBY",
    "LCA", "LIE", "LKA", "LSO", "LTU", "LUX", "LVA", "MAC", "MAF", "MAR", "MCO", "MDA", "MDG", "MDV", "MEX", "MHL",
    "MKD", "MLI", "MLT", "MMR", "MNE", "MNG", "MNP", "MOZ", "MRT", "MSR", "MTQ", "MUS", "MWI", "MYS", "MYT", "NAM",
    "NCL", "NER", "NFK", "NGA", "NIC", "NIU", "NLD", "NOR", "NPL", "NRU", "NZL", "OMN", "PAK", "PAN", "PCN", "PER",
    "PHL", "PLW", "PNG", "POL", "PRI", "PRK", "PRT", "PRY", "PSE", "PYF", "QAT", "REU", "ROU", "RUS", "RWA", "SAU",
    "SDN", "SEN", "SGP", "SGS", "SHN", "SJM", "SLB", "SLE", "SLV", "SMR", "SOM", "SPM", "SRB", "SSD", "STP", "SUR",
    "SVK", "SVN", "SWE", "SWZ", "SXM", "SYC", "SYR", "TCA", "TCD", "TGO", "THA", "TJK", "TKL", "TKM", "TLS", "TON",
    "TTO", "TUN", "TUR", "TUV", "TWN", "TZA", "UGA", "UKR", "UMI", "URY", "USA", "UZB", "VAT", "VCT", "VEN", "VGB",
    "VIR", "VNM", "VUT", "WLF", "WSM", "YEM", "ZAF", "ZMB", "ZWE",
];

/// ICAO 9303 Part 3's own codes: Germany's one letter, the British nationality
/// classes, Kosovo, the EU, the UN and other issuing organisations, and the
/// stateless, refugee and unspecified nationalities.
const ICAO_CODES: [&str; 27] = [
    "D", "EUE", "GBD", "GBN", "GBO", "GBP", "GBS", "RKS", "XKX", "UNA", "UNK", "UNO", "XBA", "XCC", "XCE", "XCO",
    "XDC", "XEC", "XES", "XIM", "XMP", "XOM", "XPO", "XXA", "XXB", "XXC", "XXX",
];

/// Whether `code`, as the MRZ carries it with its trailing fillers dropped, names
/// a state or an organisation.
pub fn is_known_code(code: &str) -> bool {
    ISO_3166_ALPHA_3.binary_search(&code).is_ok() || ICAO_CODES.contains(&code)
}

impl Mrz {
    /// Whether its issuing state and nationality are codes some state or
    /// organisation has.
    pub fn codes_known(&self) -> bool {
        is_known_code(&self.issuing_state) && is_known_code(&self.nationality)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_known_only_if_a_state_or_organisation_has_it() {
        for code in ["KAZ", "RUS", "D", "GBD", "UNO", "XXA"] {
            assert!(is_known_code(code), "{code}");
        }
        // KAZ as a blurred photo's Tesseract read it (tuning seed 19), filler-led or empty.
        for code in ["EAI", "<AI", "KA2", "", "KAZ<"] {
            assert!(!is_known_code(code), "{code}");
        }
    }

    #[test]
    fn the_list_is_debians_iso_codes() {
        // scripts/setup installs iso-codes (GStreamer needs it too).
        let path = "/usr/share/iso-codes/json/iso_3166-1.json";
        let json = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}; run scripts/setup"));
        let listed: serde_json::Value = serde_json::from_str(&json).unwrap();
        let mut codes: Vec<&str> = listed["3166-1"].as_array().unwrap().iter().map(|c| c["alpha_3"].as_str().unwrap()).collect();
        codes.sort_unstable();
        assert_eq!(codes, ISO_3166_ALPHA_3);
    }
}

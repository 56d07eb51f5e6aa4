//! Reading a config: the file the contract chooses, each section parsed on its own
//! so one type error does not hide the problems of the others, then validated.

use super::*;

/// One thing wrong with a config: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub file: String,
    pub field: String,
    pub why: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.field, self.why)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{} problem(s) in the config:\n{}", .0.len(), .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ConfigProblem>),
}

/// Where a config came from, so problems and relative paths can be explained.
#[derive(Debug, Clone)]
pub enum ConfigOrigin {
    Embedded,
    File(PathBuf),
}

impl ConfigOrigin {
    pub fn name(&self) -> String {
        match self {
            ConfigOrigin::Embedded => DEMO_CONFIG_NAME.to_string(),
            ConfigOrigin::File(p) => p.display().to_string(),
        }
    }
}

/// Chooses the config as the contract says: `--config`, else the system file, else
/// the embedded demo default.
pub fn load(explicit: Option<&Path>) -> Result<(Config, ConfigOrigin), ConfigError> {
    match explicit {
        Some(path) => load_file(path).map(|c| (c, ConfigOrigin::File(path.to_path_buf()))),
        None if Path::new(DEFAULT_CONFIG_PATH).exists() => {
            let path = Path::new(DEFAULT_CONFIG_PATH);
            load_file(path).map(|c| (c, ConfigOrigin::File(path.to_path_buf())))
        }
        None => parse(DEMO_CONFIG, DEMO_CONFIG_NAME).map(|c| (c, ConfigOrigin::Embedded)),
    }
}

pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
    parse(&text, &path.display().to_string())
}

/// Parses and validates. Each top-level section is deserialised on its own so that
/// a type error in one section does not hide problems in the others.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
    let mut problems = Vec::new();
    let problem = |field: &str, why: String| ConfigProblem { file: file.to_string(), field: field.to_string(), why };

    let root: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => return Err(ConfigError::Invalid(vec![problem("(syntax)", e.to_string().trim().to_string())])),
    };
    const SECTIONS: [&str; 11] = ["device", "camera", "api", "face", "session", "store", "models", "kiosk", "status", "signing", "webhooks"];
    for key in root.keys() {
        if !SECTIONS.contains(&key.as_str()) {
            problems.push(problem(key, format!("unknown section; known sections are {}", SECTIONS.join(", "))));
        }
    }

    fn section<T: serde::de::DeserializeOwned>(
        root: &toml::Table,
        name: &str,
        required: bool,
        problems: &mut Vec<(String, String)>,
    ) -> Option<T> {
        let value = match root.get(name) {
            Some(v) => v.clone(),
            None if required => {
                problems.push((name.to_string(), "missing section".to_string()));
                return None;
            }
            None => toml::Value::Table(toml::Table::new()),
        };
        let mut unknown = Vec::new();
        let parsed = serde_ignored::deserialize(value, |path| unknown.push(path.to_string()));
        for path in unknown {
            problems.push((format!("{name}.{path}"), "unknown field".to_string()));
        }
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                problems.push((name.to_string(), e.to_string().trim().to_string()));
                None
            }
        }
    }

    let mut raw = Vec::new();
    let device = section::<DeviceConfig>(&root, "device", true, &mut raw);
    let camera = section::<CameraConfig>(&root, "camera", true, &mut raw);
    let api = section::<ApiConfig>(&root, "api", true, &mut raw);
    let face = section::<FaceConfig>(&root, "face", false, &mut raw);
    let session = section::<SessionConfig>(&root, "session", false, &mut raw);
    let store = section::<StoreConfig>(&root, "store", false, &mut raw);
    let models = section::<ModelsConfig>(&root, "models", false, &mut raw);
    let kiosk = section::<KioskConfig>(&root, "kiosk", false, &mut raw);
    let status = section::<StatusConfig>(&root, "status", false, &mut raw);
    let signing = section::<SigningConfig>(&root, "signing", false, &mut raw);
    // Optional: only a section that is there is parsed (its url is required).
    let webhooks = root.contains_key("webhooks").then(|| section::<WebhooksConfig>(&root, "webhooks", true, &mut raw));
    problems.extend(raw.into_iter().map(|(field, why)| problem(&field, why)));

    let (
        Some(device),
        Some(camera),
        Some(api),
        Some(face),
        Some(session),
        Some(store),
        Some(models),
        Some(kiosk),
        Some(status),
        Some(signing),
    ) = (device, camera, api, face, session, store, models, kiosk, status, signing)
    else {
        return Err(ConfigError::Invalid(problems));
    };
    let webhooks = match webhooks {
        Some(None) => return Err(ConfigError::Invalid(problems)),
        Some(Some(w)) => Some(w),
        None => None,
    };
    let config = Config { device, camera, api, face, session, store, models, kiosk, status, signing, webhooks };
    problems.extend(config.validate().into_iter().map(|(field, why)| problem(field, why)));
    if problems.is_empty() { Ok(config) } else { Err(ConfigError::Invalid(problems)) }
}

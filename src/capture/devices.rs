//! V4L2 discovery and the camera policy. Injected video is the attack of choice
//! against a verification camera, so virtual devices (v4l2loopback, vivid) are
//! recognised by driver, bus and sysfs and refused unless the config allows them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use v4l::video::Capture;


/// Drivers that produce video no lens ever saw.
const VIRTUAL_DRIVERS: [&str; 4] = ["v4l2 loopback", "v4l2loopback", "vivid", "obs-virtual"];

#[derive(Debug, Clone, Serialize)]
pub struct DeviceInfo {
    pub path: String,
    pub driver: String,
    pub card: String,
    pub bus: String,
    /// Why this looks like a virtual camera, if it does.
    pub virtual_reason: Option<String>,
    pub formats: Vec<FormatInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FormatInfo {
    pub fourcc: String,
    pub description: String,
    pub sizes: Vec<SizeInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SizeInfo {
    pub width: u32,
    pub height: u32,
    pub fps: Vec<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("cannot open {path}: {source}")]
    Open { path: String, source: std::io::Error },
    #[error("{path} is not a video capture device (driver {driver})")]
    NotCapture { path: String, driver: String },
}

/// Every V4L2 capture node on the machine; metadata-only nodes are skipped.
pub fn list() -> Vec<Result<DeviceInfo, DeviceError>> {
    let mut nodes: Vec<PathBuf> = v4l::context::enum_devices().into_iter().map(|n| n.path().to_path_buf()).collect();
    nodes.sort();
    nodes
        .into_iter()
        .map(|p| inspect(&p))
        .filter(|r| !matches!(r, Err(DeviceError::NotCapture { .. })))
        .collect()
}

pub fn inspect(path: &Path) -> Result<DeviceInfo, DeviceError> {
    let display = path.display().to_string();
    let device = v4l::Device::with_path(path).map_err(|source| DeviceError::Open { path: display.clone(), source })?;
    let caps = device.query_caps().map_err(|source| DeviceError::Open { path: display.clone(), source })?;
    if !caps.capabilities.contains(v4l::capability::Flags::VIDEO_CAPTURE) {
        return Err(DeviceError::NotCapture { path: display, driver: caps.driver });
    }
    let sysfs_driver = sysfs_driver_name(path);
    let virtual_reason = virtual_reason(&caps.driver, &caps.bus, sysfs_driver.as_deref(), caps.capabilities);
    Ok(DeviceInfo {
        path: display,
        driver: caps.driver,
        card: caps.card,
        bus: caps.bus,
        virtual_reason,
        formats: formats(&device),
    })
}

fn formats(device: &v4l::Device) -> Vec<FormatInfo> {
    let Ok(descriptions) = device.enum_formats() else { return Vec::new() };
    descriptions
        .into_iter()
        .map(|d| {
            let sizes = device
                .enum_framesizes(d.fourcc)
                .unwrap_or_default()
                .into_iter()
                .flat_map(|fs| match fs.size {
                    v4l::framesize::FrameSizeEnum::Discrete(s) => vec![(s.width, s.height)],
                    v4l::framesize::FrameSizeEnum::Stepwise(s) => vec![(s.max_width, s.max_height)],
                })
                .map(|(width, height)| SizeInfo {
                    width,
                    height,
                    fps: device
                        .enum_frameintervals(d.fourcc, width, height)
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|fi| match fi.interval {
                            v4l::frameinterval::FrameIntervalEnum::Discrete(f) if f.numerator > 0 => {
                                Some(f64::from(f.denominator) / f64::from(f.numerator))
                            }
                            _ => None,
                        })
                        .collect(),
                })
                .collect();
            FormatInfo { fourcc: d.fourcc.str().unwrap_or("????").to_string(), description: d.description, sizes }
        })
        .collect()
}

/// The kernel driver bound to the node, from sysfs (follows udev symlinks first).
fn sysfs_driver_name(path: &Path) -> Option<String> {
    let real = std::fs::canonicalize(path).ok()?;
    let node = real.file_name()?.to_str()?;
    let link = std::fs::read_link(format!("/sys/class/video4linux/{node}/device/driver")).ok()?;
    link.file_name()?.to_str().map(str::to_string)
}

fn virtual_reason(driver: &str, bus: &str, sysfs_driver: Option<&str>, caps: v4l::capability::Flags) -> Option<String> {
    let lower = driver.to_ascii_lowercase();
    if VIRTUAL_DRIVERS.iter().any(|v| lower.contains(v)) {
        return Some(format!("driver {driver:?} is a virtual camera"));
    }
    if let Some(sys) = sysfs_driver.filter(|s| VIRTUAL_DRIVERS.iter().any(|v| s.contains(v))) {
        return Some(format!("kernel driver {sys:?} is a virtual camera"));
    }
    if bus.starts_with("platform:v4l2loopback") || bus.starts_with("platform:vivid") {
        return Some(format!("bus {bus:?} belongs to a virtual camera"));
    }
    // A node that both captures and accepts output is how loopback devices look.
    if caps.contains(v4l::capability::Flags::VIDEO_OUTPUT) && !bus.starts_with("usb-") && !bus.starts_with("pci") {
        return Some("the node accepts video output as well as capture (loopback)".into());
    }
    None
}

/// The `[camera.policy]` section of the config: which cameras may be used.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CameraPolicyConfig {
    /// Accept virtual cameras (v4l2loopback, vivid). Never on an appliance.
    #[serde(default)]
    pub allow_virtual: bool,
    /// Physical cameras accepted; empty accepts any physical camera.
    #[serde(default)]
    pub allow: Vec<CameraRule>,
}

/// One allowed camera model; every field given must match (case-insensitive substring).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CameraRule {
    #[serde(default)]
    pub driver: Option<String>,
    #[serde(default)]
    pub card: Option<String>,
    #[serde(default)]
    pub bus: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CameraPolicy {
    allow_virtual: bool,
    allow: Vec<CameraRule>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Verdict {
    pub accepted: bool,
    pub reason: String,
}

impl CameraPolicy {
    pub fn from_config(config: &CameraPolicyConfig) -> Self {
        Self { allow_virtual: config.allow_virtual, allow: config.allow.clone() }
    }

    pub fn evaluate(&self, device: &DeviceInfo) -> Verdict {
        if let Some(why) = &device.virtual_reason {
            return if self.allow_virtual {
                Verdict { accepted: true, reason: format!("virtual camera allowed by config ({why})") }
            } else {
                Verdict { accepted: false, reason: why.clone() }
            };
        }
        if self.allow.is_empty() {
            return Verdict { accepted: true, reason: "physical camera; no allow-list configured".into() };
        }
        match self.allow.iter().position(|rule| rule_matches(rule, device)) {
            Some(i) => Verdict { accepted: true, reason: format!("matches camera.policy.allow[{i}]") },
            None => Verdict { accepted: false, reason: "not on the camera allow-list (camera.policy.allow)".into() },
        }
    }
}

fn rule_matches(rule: &CameraRule, device: &DeviceInfo) -> bool {
    let field = |pattern: &Option<String>, value: &str| {
        pattern.as_ref().is_none_or(|p| value.to_ascii_lowercase().contains(&p.to_ascii_lowercase()))
    };
    field(&rule.driver, &device.driver) && field(&rule.card, &device.card) && field(&rule.bus, &device.bus)
}

#[cfg(test)]
mod tests {
    use v4l::capability::Flags;

    use super::*;

    fn device(driver: &str, card: &str, bus: &str, caps: Flags) -> DeviceInfo {
        DeviceInfo {
            path: "/dev/video0".into(),
            driver: driver.into(),
            card: card.into(),
            bus: bus.into(),
            virtual_reason: virtual_reason(driver, bus, None, caps),
            formats: vec![],
        }
    }

    #[test]
    fn loopback_and_vivid_are_refused_unless_allowed() {
        let strict = CameraPolicy::default();
        let loopback = device("v4l2 loopback", "Dummy video device (0x0000)", "platform:v4l2loopback-000", Flags::VIDEO_CAPTURE);
        let vivid = device("vivid", "vivid", "platform:vivid-000", Flags::VIDEO_CAPTURE);
        let output_capable = device("mystery", "cam", "platform:x", Flags::VIDEO_CAPTURE | Flags::VIDEO_OUTPUT);
        for d in [&loopback, &vivid, &output_capable] {
            assert!(!strict.evaluate(d).accepted, "{d:?}");
        }
        let lax = CameraPolicy { allow_virtual: true, allow: vec![] };
        assert!(lax.evaluate(&loopback).accepted);
    }

    #[test]
    fn allow_list_matches_every_given_field() {
        let policy = CameraPolicy {
            allow_virtual: false,
            allow: vec![CameraRule { driver: Some("uvcvideo".into()), card: Some("C920".into()), bus: None }],
        };
        let c920 = device("uvcvideo", "HD Pro Webcam C920", "usb-0000:00:14.0-1", Flags::VIDEO_CAPTURE);
        let other = device("uvcvideo", "Integrated Camera", "usb-0000:00:14.0-5", Flags::VIDEO_CAPTURE);
        assert!(policy.evaluate(&c920).accepted);
        assert!(!policy.evaluate(&other).accepted);
        assert!(CameraPolicy::default().evaluate(&other).accepted);
    }
}

//! `--device auto|cpu|cuda|cuda:N`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tch::{Cuda, Device};

use crate::ModelError;

/// Where a model runs. libtorch decides CUDA support at run time, so no
/// compile-time feature is involved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeviceChoice {
    /// The first CUDA device if there is one, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device with this ordinal (`cuda` is `cuda:0`).
    Cuda(usize),
}

/// A libtorch device as `--device` names it: `cpu`, `cuda:N` (what
/// messages and `summary.json` say, rather than libtorch's `Cpu`).
pub fn device_name(d: Device) -> String {
    match d {
        Device::Cpu => "cpu".into(),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

impl DeviceChoice {
    /// The libtorch device; an error when a CUDA device is asked for and absent.
    pub fn resolve(self) -> Result<Device, ModelError> {
        match self {
            DeviceChoice::Auto => Ok(Device::cuda_if_available()),
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Cuda(i) => {
                let n = Cuda::device_count();
                if (i as i64) < n {
                    Ok(Device::Cuda(i))
                } else {
                    Err(ModelError::Device {
                        spec: self.to_string(),
                        reason: format!("libtorch sees {n} CUDA device(s)"),
                    })
                }
            }
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| ModelError::Device {
            spec: s.to_owned(),
            reason: reason.to_owned(),
        };
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda(0)),
            other => match other.strip_prefix("cuda:") {
                Some(n) => n
                    .parse()
                    .map(DeviceChoice::Cuda)
                    .map_err(|_| bad("the CUDA ordinal is not a number")),
                None => Err(bad("expected auto, cpu, cuda or cuda:N")),
            },
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Auto => f.write_str("auto"),
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}

impl TryFrom<String> for DeviceChoice {
    type Error = ModelError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<DeviceChoice> for String {
    fn from(d: DeviceChoice) -> String {
        d.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for (s, d) in [
            ("auto", DeviceChoice::Auto),
            ("cpu", DeviceChoice::Cpu),
            ("CUDA", DeviceChoice::Cuda(0)),
            ("cuda:1", DeviceChoice::Cuda(1)),
        ] {
            assert_eq!(s.parse::<DeviceChoice>().unwrap(), d);
            assert_eq!(d.to_string().parse::<DeviceChoice>().unwrap(), d);
        }
        for bad in ["tpu", "cuda:x", ""] {
            assert!(bad.parse::<DeviceChoice>().is_err(), "{bad}");
        }
        assert_eq!(DeviceChoice::Cpu.resolve().unwrap(), Device::Cpu);
        assert!(DeviceChoice::Cuda(999).resolve().is_err());
    }
}

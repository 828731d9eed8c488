//! The one place that names burn's backends: a [`DeviceChoice`] becomes a burn [`Device`].
//!
//! burn 0.22 dispatches on the device at run time, so the rest of the crate only ever sees a
//! `Device`; which backends exist is decided here by cargo features (`cpu` → burn's pure-Rust
//! `flex` backend, `wgpu` → burn's wgpu backend).

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

#[cfg(not(any(feature = "cpu", feature = "wgpu")))]
compile_error!(
    "nasbo-train needs a backend: enable the feature `cpu` (burn's flex CPU backend, the \
     default) or `wgpu` (or both)"
);

/// Where networks are trained and measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceChoice {
    /// burn's pure-Rust CPU backend (`flex`); feature `cpu`.
    #[default]
    Cpu,
    /// burn's wgpu backend on the best adapter found (Vulkan, Metal, DX12); feature `wgpu`.
    Wgpu,
}

impl DeviceChoice {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Wgpu => "wgpu",
        }
    }

    /// Whether this build includes the backend.
    pub fn is_compiled(self) -> bool {
        match self {
            DeviceChoice::Cpu => cfg!(feature = "cpu"),
            DeviceChoice::Wgpu => cfg!(feature = "wgpu"),
        }
    }

    /// The burn device for inference (no autodiff). Checks that the backend is compiled in and,
    /// for wgpu, that an adapter answers a first tensor operation, so that a missing GPU driver
    /// becomes an error rather than a panic in the middle of a training run.
    pub fn device(self) -> Result<Device> {
        let device = self.raw_device()?;
        if self == DeviceChoice::Wgpu {
            probe(&device).map_err(|message| TrainError::Device {
                device: self.name().into(),
                message: format!(
                    "no usable wgpu adapter ({message}); install a GPU driver or Vulkan's \
                     software rasteriser (Debian: mesa-vulkan-drivers), or use --device cpu"
                ),
            })?;
        }
        Ok(device)
    }

    /// The burn device for training: [`device`](Self::device) with autodiff.
    pub fn autodiff_device(self) -> Result<Device> {
        Ok(self.device()?.autodiff())
    }

    fn raw_device(self) -> Result<Device> {
        match self {
            #[cfg(feature = "cpu")]
            DeviceChoice::Cpu => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            DeviceChoice::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[allow(unreachable_patterns)]
            other => Err(TrainError::Device {
                device: other.name().into(),
                message: format!(
                    "this build does not include it (rebuild with `--features {}`)",
                    other.name()
                ),
            }),
        }
    }
}

/// Runs one tiny operation on `device` and reads it back; a panic (no adapter) becomes `Err`.
fn probe(device: &Device) -> std::result::Result<(), String> {
    let device = device.clone();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(move || {
        let t = Tensor::<1>::from_floats([1.0, 2.0], &device);
        t.sum().try_into_data().map_err(|e| format!("{e:?}"))
    });
    std::panic::set_hook(hook);
    match outcome {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e),
        Err(panic) => Err(panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the backend panicked".into())),
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DeviceChoice {
    type Err = TrainError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cpu" | "flex" => Ok(DeviceChoice::Cpu),
            "wgpu" | "gpu" => Ok(DeviceChoice::Wgpu),
            other => Err(TrainError::Params(format!(
                "unknown device {other:?} (known: cpu, wgpu)"
            ))),
        }
    }
}

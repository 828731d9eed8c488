//! Typed layers of a chain network, parsed from choice strings such as
//! `mbconv(expand=3, kernel=5)`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{ArchError, Result};

/// One layer of a chain (a plain sequence of layers, each feeding the next).
///
/// The text form is a name, optionally followed by integer arguments in parentheses:
///
/// | text | layer | arguments (default) |
/// |---|---|---|
/// | `identity` (also `skip`, `skip_connect`) | passes its input on | none |
/// | `conv(kernel=3, channels=32, stride=1)` | convolution → batch norm → ReLU | `kernel` (required, odd), `channels` (the input's), `stride` (1) |
/// | `sepconv(kernel=3, channels=32, stride=1)` | depthwise then pointwise convolution → batch norm → ReLU | as `conv` |
/// | `mbconv(expand=6, kernel=3, channels=32, stride=1)` | inverted residual (MobileNetV2): 1×1 expansion by `expand`, depthwise `kernel`, 1×1 projection | `expand` (required), `kernel` (required, odd), `channels` (the input's), `stride` (1) |
/// | `maxpool(kernel=2, stride=2)` (also `max_pool`) | max pooling | `kernel` (required), `stride` (`kernel`) |
/// | `avgpool(kernel=2, stride=2)` (also `avg_pool`) | average pooling | as `maxpool` |
///
/// Every argument is a positive integer; convolution kernels are odd so that "same" padding is
/// symmetric. [`fmt::Display`] writes the canonical form (every argument, defaults included),
/// which parses back to the same value.
///
/// ```
/// use nasbo_core::declared::LayerSpec;
///
/// let layer: LayerSpec = "mbconv(kernel=5, expand=3)".parse().unwrap();
/// assert_eq!(
///     layer,
///     LayerSpec::MbConv { expand: 3, kernel: 5, channels: None, stride: 1 }
/// );
/// assert_eq!(layer.to_string(), "mbconv(expand=3, kernel=5, stride=1)");
/// assert!("conv(kernel=4)".parse::<LayerSpec>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayerSpec {
    /// Passes its input on unchanged.
    Identity,
    /// Convolution → batch norm → ReLU.
    Conv {
        /// Kernel side (odd).
        kernel: usize,
        /// Output channels; `None` keeps the input's.
        channels: Option<usize>,
        /// Stride.
        stride: usize,
    },
    /// Depthwise-separable convolution → batch norm → ReLU.
    SepConv {
        /// Kernel side of the depthwise convolution (odd).
        kernel: usize,
        /// Output channels; `None` keeps the input's.
        channels: Option<usize>,
        /// Stride.
        stride: usize,
    },
    /// MobileNetV2 inverted residual block.
    MbConv {
        /// Expansion ratio of the hidden channels.
        expand: usize,
        /// Kernel side of the depthwise convolution (odd).
        kernel: usize,
        /// Output channels; `None` keeps the input's.
        channels: Option<usize>,
        /// Stride.
        stride: usize,
    },
    /// Max pooling.
    MaxPool {
        /// Window side.
        kernel: usize,
        /// Stride.
        stride: usize,
    },
    /// Average pooling.
    AvgPool {
        /// Window side.
        kernel: usize,
        /// Stride.
        stride: usize,
    },
}

/// The layer names the parser knows, for error messages.
const KNOWN: &str = "identity, skip, conv, sepconv, mbconv, maxpool, avgpool";

impl LayerSpec {
    /// Output channels of the layer given its input channels.
    pub fn out_channels(&self, input: usize) -> usize {
        match *self {
            LayerSpec::Conv { channels, .. }
            | LayerSpec::SepConv { channels, .. }
            | LayerSpec::MbConv { channels, .. } => channels.unwrap_or(input),
            _ => input,
        }
    }

    /// The layer's stride (1 for identity).
    pub fn stride(&self) -> usize {
        match *self {
            LayerSpec::Identity => 1,
            LayerSpec::Conv { stride, .. }
            | LayerSpec::SepConv { stride, .. }
            | LayerSpec::MbConv { stride, .. }
            | LayerSpec::MaxPool { stride, .. }
            | LayerSpec::AvgPool { stride, .. } => stride,
        }
    }
}

/// The arguments of one layer string, consumed as the layer's fields are read.
struct Args<'a> {
    input: &'a str,
    name: &'a str,
    pairs: Vec<(&'a str, usize)>,
}

impl<'a> Args<'a> {
    fn parse(input: &'a str) -> Result<Args<'a>> {
        let err = |reason: String| parse_error(input, reason);
        let text = input.trim();
        let (name, inner) = match text.find('(') {
            None => (text, None),
            Some(open) => {
                let inner = text[open + 1..].strip_suffix(')').ok_or_else(|| {
                    err("arguments must end with `)`, as in `conv(kernel=3)`".into())
                })?;
                (text[..open].trim(), Some(inner))
            }
        };
        if name.is_empty() {
            return Err(err(format!("expected a layer name ({KNOWN})")));
        }
        let mut pairs: Vec<(&str, usize)> = Vec::new();
        for item in inner.into_iter().flat_map(|s| s.split(',')) {
            let item = item.trim();
            if item.is_empty() && inner.is_some_and(|s| s.trim().is_empty()) {
                continue;
            }
            let (key, value) = item.split_once('=').ok_or_else(|| {
                err(format!(
                    "argument `{item}` must be `key=value`, as in `kernel=3`"
                ))
            })?;
            let (key, value) = (key.trim(), value.trim());
            let value: usize = value.parse().ok().filter(|&v| v > 0).ok_or_else(|| {
                err(format!(
                    "argument `{key}` must be a positive integer, found `{value}`"
                ))
            })?;
            if pairs.iter().any(|&(k, _)| k == key) {
                return Err(err(format!("argument `{key}` is given twice")));
            }
            pairs.push((key, value));
        }
        Ok(Args { input, name, pairs })
    }

    fn optional(&mut self, key: &str) -> Option<usize> {
        let at = self.pairs.iter().position(|&(k, _)| k == key)?;
        Some(self.pairs.remove(at).1)
    }

    fn required(&mut self, key: &str) -> Result<usize> {
        self.optional(key).ok_or_else(|| {
            parse_error(
                self.input,
                format!("`{}` needs the argument `{key}`", self.name),
            )
        })
    }

    fn odd_kernel(&mut self) -> Result<usize> {
        let kernel = self.required("kernel")?;
        if kernel % 2 == 0 {
            return Err(parse_error(
                self.input,
                format!(
                    "`{}` needs an odd kernel (for symmetric padding), found {kernel}",
                    self.name
                ),
            ));
        }
        Ok(kernel)
    }

    /// Fails on arguments the layer does not take.
    fn finish(self, layer: LayerSpec, allowed: &str) -> Result<LayerSpec> {
        match self.pairs.first() {
            None => Ok(layer),
            Some((key, _)) => Err(parse_error(
                self.input,
                format!(
                    "`{}` takes no argument `{key}`; its arguments are: {allowed}",
                    self.name
                ),
            )),
        }
    }
}

fn parse_error(input: &str, reason: String) -> ArchError {
    ArchError::Parse {
        input: input.to_string(),
        reason,
    }
}

impl FromStr for LayerSpec {
    type Err = ArchError;

    fn from_str(s: &str) -> Result<LayerSpec> {
        let mut args = Args::parse(s)?;
        match args.name {
            "identity" | "skip" | "skip_connect" => args.finish(LayerSpec::Identity, "none"),
            "conv" | "sepconv" => {
                let kernel = args.odd_kernel()?;
                let channels = args.optional("channels");
                let stride = args.optional("stride").unwrap_or(1);
                let layer = if args.name == "conv" {
                    LayerSpec::Conv {
                        kernel,
                        channels,
                        stride,
                    }
                } else {
                    LayerSpec::SepConv {
                        kernel,
                        channels,
                        stride,
                    }
                };
                args.finish(layer, "kernel, channels, stride")
            }
            "mbconv" => {
                let expand = args.required("expand")?;
                let kernel = args.odd_kernel()?;
                let channels = args.optional("channels");
                let stride = args.optional("stride").unwrap_or(1);
                let layer = LayerSpec::MbConv {
                    expand,
                    kernel,
                    channels,
                    stride,
                };
                args.finish(layer, "expand, kernel, channels, stride")
            }
            "maxpool" | "max_pool" | "avgpool" | "avg_pool" => {
                let kernel = args.required("kernel")?;
                let stride = args.optional("stride").unwrap_or(kernel);
                let layer = if args.name.starts_with("max") {
                    LayerSpec::MaxPool { kernel, stride }
                } else {
                    LayerSpec::AvgPool { kernel, stride }
                };
                args.finish(layer, "kernel, stride")
            }
            other => Err(parse_error(
                s,
                format!("unknown layer `{other}`; known layers: {KNOWN}"),
            )),
        }
    }
}

impl fmt::Display for LayerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let channels = |c: Option<usize>| c.map(|c| format!(", channels={c}")).unwrap_or_default();
        match *self {
            LayerSpec::Identity => f.write_str("identity"),
            LayerSpec::Conv {
                kernel,
                channels: c,
                stride,
            } => write!(f, "conv(kernel={kernel}{}, stride={stride})", channels(c)),
            LayerSpec::SepConv {
                kernel,
                channels: c,
                stride,
            } => write!(
                f,
                "sepconv(kernel={kernel}{}, stride={stride})",
                channels(c)
            ),
            LayerSpec::MbConv {
                expand,
                kernel,
                channels: c,
                stride,
            } => write!(
                f,
                "mbconv(expand={expand}, kernel={kernel}{}, stride={stride})",
                channels(c)
            ),
            LayerSpec::MaxPool { kernel, stride } => {
                write!(f, "maxpool(kernel={kernel}, stride={stride})")
            }
            LayerSpec::AvgPool { kernel, stride } => {
                write!(f, "avgpool(kernel={kernel}, stride={stride})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LayerSpec;

    fn reason(text: &str) -> String {
        match text.parse::<LayerSpec>() {
            Err(crate::ArchError::Parse { reason, .. }) => reason,
            other => panic!("`{text}` should fail to parse, got {other:?}"),
        }
    }

    #[test]
    fn parses_every_layer_with_defaults() {
        let cases = [
            ("identity", LayerSpec::Identity),
            ("skip()", LayerSpec::Identity),
            (
                " conv( kernel = 5 , channels=32 ) ",
                LayerSpec::Conv {
                    kernel: 5,
                    channels: Some(32),
                    stride: 1,
                },
            ),
            (
                "sepconv(kernel=3, stride=2)",
                LayerSpec::SepConv {
                    kernel: 3,
                    channels: None,
                    stride: 2,
                },
            ),
            (
                "maxpool(kernel=3)",
                LayerSpec::MaxPool {
                    kernel: 3,
                    stride: 3,
                },
            ),
            (
                "avg_pool(kernel=2, stride=1)",
                LayerSpec::AvgPool {
                    kernel: 2,
                    stride: 1,
                },
            ),
        ];
        for (text, want) in cases {
            let got: LayerSpec = text.parse().unwrap();
            assert_eq!(got, want, "{text}");
            let again: LayerSpec = got.to_string().parse().unwrap();
            assert_eq!(again, got, "{got} must round-trip");
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(reason("dense(units=3)").contains("unknown layer `dense`"));
        assert!(reason("conv").contains("needs the argument `kernel`"));
        assert!(reason("conv(kernel=2)").contains("odd kernel"));
        assert!(reason("conv(kernel=3, groups=2)").contains("no argument `groups`"));
        assert!(reason("conv(kernel=3, kernel=5)").contains("given twice"));
        assert!(reason("conv(kernel=0)").contains("positive integer"));
        assert!(reason("conv(kernel=3").contains("end with `)`"));
        assert!(reason("mbconv(kernel=3)").contains("`expand`"));
        assert!(reason("identity(stride=2)").contains("takes no argument"));
        assert!(reason("conv(3)").contains("key=value"));
    }

    #[test]
    fn shapes_follow_the_arguments() {
        let conv: LayerSpec = "conv(kernel=3, channels=64, stride=2)".parse().unwrap();
        assert_eq!((conv.out_channels(16), conv.stride()), (64, 2));
        let pool: LayerSpec = "maxpool(kernel=2)".parse().unwrap();
        assert_eq!((pool.out_channels(16), pool.stride()), (16, 2));
    }
}

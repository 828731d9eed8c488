//! Image data sets: IDX (MNIST, Fashion-MNIST, digits) and CIFAR binary loaders, the seeded
//! train/validation split, normalisation and augmentation.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rand::seq::SliceRandom;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// Debian's location of Fashion-MNIST (`apt-get install dataset-fashion-mnist`).
pub const DEBIAN_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// The environment variable naming the folder that holds `fashion-mnist-small/`, `digits/`, ….
pub const DATA_ENV: &str = "NASBO_DATA";

/// A set of equally sized images with integer labels, pixels kept as raw bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Images {
    /// Channels per image.
    pub channels: usize,
    /// Image side (images are square).
    pub side: usize,
    /// Pixels, image after image, each in channel-major (CHW) order.
    pub pixels: Vec<u8>,
    /// One label per image, each below `classes`.
    pub labels: Vec<u8>,
    /// Number of classes.
    pub classes: usize,
}

impl Images {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per image.
    pub fn image_len(&self) -> usize {
        self.channels * self.side * self.side
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// The images at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Images {
        let mut pixels = Vec::with_capacity(indices.len() * self.image_len());
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
            labels.push(self.labels[i]);
        }
        Images {
            pixels,
            labels,
            channels: self.channels,
            side: self.side,
            classes: self.classes,
        }
    }

    /// The first `n` images (all of them when fewer).
    pub fn truncate(mut self, n: usize) -> Images {
        let n = n.min(self.len());
        self.pixels.truncate(n * self.image_len());
        self.labels.truncate(n);
        self
    }
}

/// The data sets this crate knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    /// Fashion-MNIST (28×28 grey, 10 classes), IDX files.
    FashionMnist,
    /// The 8×8 handwritten digits (pixel values 0..16), IDX files, no separate test set.
    Digits,
    /// CIFAR-10 binary version (`data_batch_1.bin` … `test_batch.bin`).
    Cifar10,
    /// CIFAR-100 binary version (`train.bin`, `test.bin`), fine labels.
    Cifar100,
}

impl DatasetName {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DatasetName::FashionMnist => "fashion-mnist",
            DatasetName::Digits => "digits",
            DatasetName::Cifar10 => "cifar10",
            DatasetName::Cifar100 => "cifar100",
        }
    }

    /// Folder names searched below each data root, most preferred first.
    fn folders(self) -> &'static [&'static str] {
        match self {
            DatasetName::FashionMnist => &["fashion-mnist", "fashion-mnist-small"],
            DatasetName::Digits => &["digits"],
            DatasetName::Cifar10 => &["cifar-10-batches-bin", "cifar10"],
            DatasetName::Cifar100 => &["cifar-100-binary", "cifar100"],
        }
    }

    /// A file whose presence marks a folder as holding this data set.
    fn marker(self) -> &'static str {
        match self {
            DatasetName::FashionMnist => "train-images-idx3-ubyte",
            DatasetName::Digits => "digits-images-idx3-ubyte",
            DatasetName::Cifar10 => "data_batch_1.bin",
            DatasetName::Cifar100 => "train.bin",
        }
    }

    /// Whether training uses random crops and flips (the CIFAR recipe).
    pub fn augments(self) -> bool {
        matches!(self, DatasetName::Cifar10 | DatasetName::Cifar100)
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DatasetName {
    type Err = TrainError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "fashion-mnist" | "fashion_mnist" | "fmnist" => Ok(DatasetName::FashionMnist),
            "digits" => Ok(DatasetName::Digits),
            "cifar10" | "cifar-10" => Ok(DatasetName::Cifar10),
            "cifar100" | "cifar-100" => Ok(DatasetName::Cifar100),
            other => Err(TrainError::Params(format!(
                "unknown data set {other:?} (known: fashion-mnist, digits, cifar10, cifar100)"
            ))),
        }
    }
}

/// A data set's training and test images.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Which data set.
    pub name: DatasetName,
    /// The official training images.
    pub train: Images,
    /// The official test images (never searched on).
    pub test: Images,
}

fn has_marker(dir: &Path, marker: &str) -> bool {
    dir.join(marker).is_file() || dir.join(format!("{marker}.gz")).is_file()
}

/// Finds the folder holding `name` (see [`locate_with`]), taking [`DATA_ENV`]'s value from the
/// process environment.
///
/// Kept for callers not yet passing the variable's value themselves; new code should read
/// [`DATA_ENV`] in the binary and call [`locate_with`].
pub fn locate(name: DatasetName, data_dir: Option<&Path>) -> Result<PathBuf> {
    let env = std::env::var_os(DATA_ENV).map(PathBuf::from);
    locate_with(name, data_dir, env.as_deref())
}

/// Finds the folder holding `name`. With `data_dir` (the user's explicit choice) only there:
/// the folder itself or a data-set folder below it; when it holds no such data set that is an
/// error, never replaced by another location. Without it: `env_data` (the value of the
/// [`DATA_ENV`] variable, which the caller reads; this library reads no environment), then
/// (for Fashion-MNIST) Debian's package location [`DEBIAN_FASHION_MNIST`]. The error lists
/// every place tried, as absolute paths.
pub fn locate_with(
    name: DatasetName,
    data_dir: Option<&Path>,
    env_data: Option<&Path>,
) -> Result<PathBuf> {
    locate_in(name, data_dir, env_data, Path::new(DEBIAN_FASHION_MNIST))
}

/// [`locate_with`] with Debian's folder given (so tests do not depend on what the machine
/// has installed).
fn locate_in(
    name: DatasetName,
    data_dir: Option<&Path>,
    env: Option<&Path>,
    debian: &Path,
) -> Result<PathBuf> {
    let mut roots: Vec<(PathBuf, String)> = Vec::new();
    match data_dir {
        // The user's explicit choice: the only place searched.
        Some(d) => roots.push((d.to_path_buf(), "--data-dir".into())),
        None => {
            roots.push((PathBuf::new(), "--data-dir (not given)".into()));
            match env {
                Some(d) => roots.push((d.to_path_buf(), format!("${DATA_ENV}"))),
                None => roots.push((PathBuf::new(), format!("${DATA_ENV} (not set)"))),
            }
            if name == DatasetName::FashionMnist {
                roots.push((
                    debian.to_path_buf(),
                    "Debian's dataset-fashion-mnist".into(),
                ));
            }
        }
    }
    let mut tried = Vec::new();
    for (root, how) in roots {
        if root.as_os_str().is_empty() {
            tried.push(how);
            continue;
        }
        let root = std::path::absolute(&root).unwrap_or(root);
        let mut candidates = vec![root.clone()];
        candidates.extend(name.folders().iter().map(|f| root.join(f)));
        for dir in &candidates {
            if has_marker(dir, name.marker()) {
                return Ok(dir.clone());
            }
        }
        let shown: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
        let missing = if root.is_dir() {
            ""
        } else {
            " (does not exist)"
        };
        tried.push(format!("{how}{missing}: {}", shown.join(", ")));
    }
    Err(TrainError::DataNotFound {
        dataset: name.name().into(),
        tried,
    })
}

/// Loads data set `name` from `data_dir`, `$NASBO_DATA` or Debian's location (see [`locate`];
/// reads [`DATA_ENV`] from the process environment). New code: [`load_with`].
pub fn load(name: DatasetName, data_dir: Option<&Path>) -> Result<Dataset> {
    let env = std::env::var_os(DATA_ENV).map(PathBuf::from);
    load_with(name, data_dir, env.as_deref())
}

/// Loads data set `name` from the folder [`locate_with`] finds (`env_data`: the value of
/// [`DATA_ENV`], read by the caller).
pub fn load_with(
    name: DatasetName,
    data_dir: Option<&Path>,
    env_data: Option<&Path>,
) -> Result<Dataset> {
    let dir = locate_with(name, data_dir, env_data)?;
    load_from(name, &dir)
}

/// Loads data set `name` from the folder that holds its files.
pub fn load_from(name: DatasetName, dir: &Path) -> Result<Dataset> {
    match name {
        DatasetName::FashionMnist => Ok(Dataset {
            name,
            train: read_idx_pair(
                &find_file(dir, "train-images-idx3-ubyte")?,
                &find_file(dir, "train-labels-idx1-ubyte")?,
                10,
            )?,
            test: read_idx_pair(
                &find_file(dir, "t10k-images-idx3-ubyte")?,
                &find_file(dir, "t10k-labels-idx1-ubyte")?,
                10,
            )?,
        }),
        DatasetName::Digits => {
            let all = read_idx_pair(
                &find_file(dir, "digits-images-idx3-ubyte")?,
                &find_file(dir, "digits-labels-idx1-ubyte")?,
                10,
            )?;
            // No official test set: the last sixth, always the same images, is the test set.
            let n_test = all.len() / 6;
            let n_train = all.len() - n_test;
            let train_idx: Vec<usize> = (0..n_train).collect();
            let test_idx: Vec<usize> = (n_train..all.len()).collect();
            Ok(Dataset {
                name,
                train: all.select(&train_idx),
                test: all.select(&test_idx),
            })
        }
        DatasetName::Cifar10 => {
            let mut parts = Vec::new();
            for b in 1..=5 {
                parts.push(read_cifar(
                    &find_file(dir, &format!("data_batch_{b}.bin"))?,
                    CifarKind::Cifar10,
                )?);
            }
            Ok(Dataset {
                name,
                train: concat(parts),
                test: read_cifar(&find_file(dir, "test_batch.bin")?, CifarKind::Cifar10)?,
            })
        }
        DatasetName::Cifar100 => Ok(Dataset {
            name,
            train: read_cifar(&find_file(dir, "train.bin")?, CifarKind::Cifar100)?,
            test: read_cifar(&find_file(dir, "test.bin")?, CifarKind::Cifar100)?,
        }),
    }
}

fn find_file(dir: &Path, stem: &str) -> Result<PathBuf> {
    let plain = dir.join(stem);
    if plain.is_file() {
        return Ok(plain);
    }
    let gz = dir.join(format!("{stem}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    Err(TrainError::format(
        dir,
        format!("neither {stem} nor {stem}.gz found here"),
    ))
}

fn concat(parts: Vec<Images>) -> Images {
    let mut it = parts.into_iter();
    let mut first = it.next().expect("at least one part");
    for p in it {
        first.pixels.extend_from_slice(&p.pixels);
        first.labels.extend_from_slice(&p.labels);
    }
    first
}

/// Reads a whole file, gunzipping it when its name ends in `.gz`.
fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| TrainError::format(path, format!("not a valid gzip file: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// An IDX file of unsigned bytes: its dimensions and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// The dimensions (the first is the item count).
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Parses IDX bytes with `expected_dims` dimensions; `path` only names the file in errors.
pub fn parse_idx(bytes: &[u8], expected_dims: usize, path: &Path) -> Result<IdxArray> {
    if bytes.len() < 4 {
        return Err(TrainError::format(
            path,
            format!("truncated IDX file: {} bytes, no header", bytes.len()),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(TrainError::format(
            path,
            format!(
                "bad IDX magic number {:02x}{:02x}{:02x}{:02x} (expected 0000 then type and rank)",
                bytes[0], bytes[1], bytes[2], bytes[3]
            ),
        ));
    }
    if bytes[2] != 0x08 {
        return Err(TrainError::format(
            path,
            format!(
                "IDX element type 0x{:02x} is not unsigned byte (0x08)",
                bytes[2]
            ),
        ));
    }
    let rank = bytes[3] as usize;
    if rank != expected_dims {
        return Err(TrainError::format(
            path,
            format!("IDX file has {rank} dimensions, expected {expected_dims}"),
        ));
    }
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(TrainError::format(
            path,
            format!("truncated IDX header: {} bytes", bytes.len()),
        ));
    }
    let dims: Vec<usize> = (0..rank)
        .map(|d| {
            let b = &bytes[4 + 4 * d..8 + 4 * d];
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
        })
        .collect();
    // The header comes from the file: its product is computed with checked arithmetic and
    // compared with the bytes actually there before anything is copied.
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            TrainError::format(
                path,
                format!(
                    "corrupt IDX header: dimensions {dims:?} multiply to more than {} bytes",
                    usize::MAX
                ),
            )
        })?;
    let have = bytes.len() - header;
    if have < expected {
        return Err(TrainError::format(
            path,
            format!("truncated IDX data: dimensions {dims:?} need {expected} bytes, found {have}"),
        ));
    }
    if have > expected {
        return Err(TrainError::format(
            path,
            format!(
                "IDX data longer than its dimensions {dims:?}: {expected} bytes expected, found {have}"
            ),
        ));
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Reads an IDX image file (3 dimensions: count, rows, columns; square images).
pub fn read_idx_images(path: &Path) -> Result<(usize, usize, Vec<u8>)> {
    let arr = parse_idx(&read_bytes(path)?, 3, path)?;
    let (n, h, w) = (arr.dims[0], arr.dims[1], arr.dims[2]);
    if h != w || h == 0 {
        return Err(TrainError::format(
            path,
            format!("images are {h}×{w}: expected square, non-empty images"),
        ));
    }
    Ok((n, h, arr.data))
}

/// Reads an IDX label file (1 dimension), checking every label is below `classes`.
pub fn read_idx_labels(path: &Path, classes: usize) -> Result<Vec<u8>> {
    let arr = parse_idx(&read_bytes(path)?, 1, path)?;
    check_labels(&arr.data, classes, path)?;
    Ok(arr.data)
}

fn check_labels(labels: &[u8], classes: usize, path: &Path) -> Result<()> {
    if let Some((i, &l)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= classes)
    {
        return Err(TrainError::format(
            path,
            format!("label {l} of item {i} is out of range 0..{classes}"),
        ));
    }
    Ok(())
}

/// Reads an IDX image file and its label file, checking that the counts agree.
pub fn read_idx_pair(images: &Path, labels: &Path, classes: usize) -> Result<Images> {
    let (n, side, pixels) = read_idx_images(images)?;
    let labels_v = read_idx_labels(labels, classes)?;
    if labels_v.len() != n {
        return Err(TrainError::format(
            labels,
            format!(
                "{} labels but {} has {n} images",
                labels_v.len(),
                images.display()
            ),
        ));
    }
    if n == 0 {
        return Err(TrainError::format(images, "no images"));
    }
    Ok(Images {
        channels: 1,
        side,
        pixels,
        labels: labels_v,
        classes,
    })
}

/// The two CIFAR binary formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CifarKind {
    /// One label byte, then 3072 pixel bytes; 10 classes.
    Cifar10,
    /// A coarse and a fine label byte, then 3072 pixel bytes; 100 (fine) classes.
    Cifar100,
}

/// Reads one CIFAR binary file (32×32×3 images, CHW order as stored).
pub fn read_cifar(path: &Path, kind: CifarKind) -> Result<Images> {
    let bytes = read_bytes(path)?;
    parse_cifar(&bytes, kind, path)
}

/// Parses CIFAR binary records; `path` only names the file in errors.
pub fn parse_cifar(bytes: &[u8], kind: CifarKind, path: &Path) -> Result<Images> {
    const PIXELS: usize = 3 * 32 * 32;
    let (label_bytes, classes) = match kind {
        CifarKind::Cifar10 => (1, 10),
        CifarKind::Cifar100 => (2, 100),
    };
    let record = label_bytes + PIXELS;
    if bytes.is_empty() || !bytes.len().is_multiple_of(record) {
        return Err(TrainError::format(
            path,
            format!(
                "size {} bytes is not a positive multiple of the {record}-byte {kind:?} record (truncated or wrong format)",
                bytes.len()
            ),
        ));
    }
    let n = bytes.len() / record;
    let mut labels = Vec::with_capacity(n);
    let mut pixels = Vec::with_capacity(n * PIXELS);
    for r in bytes.chunks_exact(record) {
        if kind == CifarKind::Cifar100 && r[0] >= 20 {
            return Err(TrainError::format(
                path,
                format!(
                    "coarse label {} of record {} is out of range 0..20",
                    r[0],
                    labels.len()
                ),
            ));
        }
        labels.push(r[label_bytes - 1]);
        pixels.extend_from_slice(&r[label_bytes..]);
    }
    check_labels(&labels, classes, path)?;
    Ok(Images {
        channels: 3,
        side: 32,
        pixels,
        labels,
        classes,
    })
}

/// Per-channel mean and standard deviation, in raw pixel units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    /// Mean of each channel.
    pub mean: Vec<f32>,
    /// Standard deviation of each channel.
    pub std: Vec<f32>,
}

impl Normalizer {
    /// The statistics of `images`.
    pub fn fit(images: &Images) -> Normalizer {
        let c = images.channels;
        let hw = images.side * images.side;
        let mut sum = vec![0f64; c];
        let mut sq = vec![0f64; c];
        for i in 0..images.len() {
            let img = images.image(i);
            for ch in 0..c {
                for &p in &img[ch * hw..(ch + 1) * hw] {
                    let p = p as f64;
                    sum[ch] += p;
                    sq[ch] += p * p;
                }
            }
        }
        let n = (images.len() * hw).max(1) as f64;
        let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
        let std = sq
            .iter()
            .zip(&sum)
            .map(|(q, s)| {
                let m = s / n;
                ((q / n - m * m).max(0.0).sqrt() as f32).max(1e-6)
            })
            .collect();
        Normalizer { mean, std }
    }
}

/// Training, validation and test images, with the normaliser fitted on the training part.
#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    /// Which data set.
    pub name: DatasetName,
    /// Images trained on.
    pub train: Images,
    /// Held-out part of the official training set: the split searched on.
    pub valid: Images,
    /// The official test set: only reported.
    pub test: Images,
    /// Normalisation fitted on `train`.
    pub normalizer: Normalizer,
    /// Whether training batches get random crops and flips.
    pub augment: bool,
}

/// How to split a [`Dataset`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitConfig {
    /// Fraction of the official training set held out for validation (0 < f < 1).
    pub valid_fraction: f64,
    /// Keep at most this many training images (after the split).
    pub train_limit: Option<usize>,
    /// Keep at most this many validation images.
    pub valid_limit: Option<usize>,
    /// Keep at most this many test images.
    pub test_limit: Option<usize>,
    /// Seed of the split.
    pub seed: u64,
}

impl SplitConfig {
    /// Refuses every value that cannot be meant, with [`TrainError::Invalid`] naming it: a
    /// validation fraction outside (0, 1) and a limit of zero images (a zero train limit
    /// leaves nothing to train on; a zero validation limit would score every architecture
    /// 0 %). [`Dataset::split`] calls it.
    pub fn validate(&self) -> Result<()> {
        if !(self.valid_fraction > 0.0 && self.valid_fraction < 1.0) {
            return Err(TrainError::invalid(
                "valid_fraction",
                self.valid_fraction,
                "a fraction strictly between 0 and 1",
            ));
        }
        for (name, limit) in [
            ("train_limit", self.train_limit),
            ("valid_limit", self.valid_limit),
            ("test_limit", self.test_limit),
        ] {
            if limit == Some(0) {
                return Err(TrainError::invalid(
                    name,
                    0,
                    "at least 1 image, or no limit",
                ));
            }
        }
        Ok(())
    }
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig {
            valid_fraction: 0.2,
            train_limit: None,
            valid_limit: None,
            test_limit: None,
            seed: 0,
        }
    }
}

impl Dataset {
    /// Splits the official training set into train and validation parts with a seeded shuffle.
    pub fn split(&self, config: &SplitConfig) -> Result<Splits> {
        config.validate()?;
        let n = self.train.len();
        let n_valid = ((n as f64) * config.valid_fraction).round() as usize;
        if n_valid == 0 || n_valid >= n {
            return Err(TrainError::Params(format!(
                "a validation fraction of {} leaves no train or no validation images out of {n}",
                config.valid_fraction
            )));
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(config.seed));
        let mut valid_idx = order[..n_valid].to_vec();
        let mut train_idx = order[n_valid..].to_vec();
        if let Some(l) = config.valid_limit {
            valid_idx.truncate(l);
        }
        if let Some(l) = config.train_limit {
            train_idx.truncate(l);
        }
        let train = self.train.select(&train_idx);
        let normalizer = Normalizer::fit(&train);
        let test = match config.test_limit {
            Some(l) => self.test.clone().truncate(l),
            None => self.test.clone(),
        };
        Ok(Splits {
            name: self.name,
            valid: self.train.select(&valid_idx),
            train,
            test,
            normalizer,
            augment: self.name.augments(),
        })
    }
}

/// A batch in host memory: normalised pixels (NCHW) and labels.
#[derive(Debug, Clone, PartialEq)]
pub struct HostBatch {
    /// Normalised pixel values, `len × channels × side × side`.
    pub pixels: Vec<f32>,
    /// Labels.
    pub labels: Vec<i64>,
    /// `[batch, channels, side, side]`.
    pub shape: [usize; 4],
}

/// Padding of the random crop (the CIFAR recipe: 4).
pub const CROP_PADDING: usize = 4;

impl Splits {
    /// Refuses splits that cannot be trained and scored: no training or no validation images
    /// ([`TrainError::Invalid`]), or a normaliser without one mean and standard deviation per
    /// channel.
    pub fn validate(&self) -> Result<()> {
        if self.train.is_empty() {
            return Err(TrainError::invalid(
                "training images",
                0,
                "at least 1 image to train on",
            ));
        }
        if self.valid.is_empty() {
            return Err(TrainError::invalid(
                "validation images",
                0,
                "at least 1 image to score on",
            ));
        }
        let c = self.train.channels;
        if self.normalizer.mean.len() != c || self.normalizer.std.len() != c {
            return Err(TrainError::Params(format!(
                "the normaliser has {} means and {} standard deviations for {c}-channel images",
                self.normalizer.mean.len(),
                self.normalizer.std.len()
            )));
        }
        Ok(())
    }

    /// Normalises the images at `indices` of `images`; with `rng`, applies a random crop with
    /// [`CROP_PADDING`] zero padding (zero after normalisation) and a random horizontal flip.
    pub fn batch(
        &self,
        images: &Images,
        indices: &[usize],
        rng: Option<&mut ChaCha8Rng>,
    ) -> HostBatch {
        let c = images.channels;
        let s = images.side;
        let hw = s * s;
        let mut pixels = Vec::with_capacity(indices.len() * c * hw);
        let mut labels = Vec::with_capacity(indices.len());
        let mut rng = rng;
        for &i in indices {
            let img = images.image(i);
            let (dy, dx, flip) = match rng.as_deref_mut() {
                Some(r) => (
                    r.gen_range(0..=2 * CROP_PADDING) as isize - CROP_PADDING as isize,
                    r.gen_range(0..=2 * CROP_PADDING) as isize - CROP_PADDING as isize,
                    r.gen_bool(0.5),
                ),
                None => (0, 0, false),
            };
            for ch in 0..c {
                let (m, sd) = (self.normalizer.mean[ch], self.normalizer.std[ch]);
                let plane = &img[ch * hw..(ch + 1) * hw];
                for y in 0..s as isize {
                    for x in 0..s as isize {
                        let sy = y + dy;
                        let sx0 = if flip { s as isize - 1 - x } else { x };
                        let sx = sx0 + dx;
                        let v = if sy >= 0 && sy < s as isize && sx >= 0 && sx < s as isize {
                            (plane[sy as usize * s + sx as usize] as f32 - m) / sd
                        } else {
                            0.0
                        };
                        pixels.push(v);
                    }
                }
            }
            labels.push(images.labels[i] as i64);
        }
        HostBatch {
            pixels,
            labels,
            shape: [indices.len(), c, s, s],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(magic: [u8; 4], dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = magic.to_vec();
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn idx_round_trip_and_checks() {
        let p = Path::new("x.idx");
        let good = idx([0, 0, 8, 3], &[2, 2, 2], &[1, 2, 3, 4, 5, 6, 7, 8]);
        let a = parse_idx(&good, 3, p).unwrap();
        assert_eq!(a.dims, vec![2, 2, 2]);
        let bad = idx([1, 0, 8, 3], &[2, 2, 2], &[0; 8]);
        assert!(parse_idx(&bad, 3, p)
            .unwrap_err()
            .to_string()
            .contains("magic"));
        let short = idx([0, 0, 8, 3], &[2, 2, 2], &[0; 7]);
        let e = parse_idx(&short, 3, p).unwrap_err().to_string();
        assert!(e.contains("truncated") && e.contains("x.idx"), "{e}");
        let rank = idx([0, 0, 8, 1], &[8], &[0; 8]);
        assert!(parse_idx(&rank, 3, p)
            .unwrap_err()
            .to_string()
            .contains("dimensions"));
    }

    #[test]
    fn corrupt_idx_headers_are_errors_naming_file_and_dims() {
        let p = Path::new("corrupt.idx");
        // Huge dimensions: 4e9 × 4e9 × 4e9 overflows usize.
        let overflow = idx([0, 0, 8, 3], &[u32::MAX, u32::MAX, u32::MAX], &[0; 8]);
        let e = parse_idx(&overflow, 3, p).unwrap_err().to_string();
        assert!(
            e.contains("corrupt.idx") && e.contains("4294967295") && e.contains("corrupt IDX"),
            "{e}"
        );
        // Huge but representable: refused against the real length, nothing allocated.
        let huge = idx([0, 0, 8, 3], &[1_000_000_000, 28, 28], &[0; 16]);
        let e = parse_idx(&huge, 3, p).unwrap_err().to_string();
        assert!(
            e.contains("corrupt.idx") && e.contains("1000000000") && e.contains("found 16"),
            "{e}"
        );
        // Truncated data and a truncated header.
        let short = idx([0, 0, 8, 1], &[10], &[0; 9]);
        let e = parse_idx(&short, 1, p).unwrap_err().to_string();
        assert!(e.contains("truncated") && e.contains("[10]"), "{e}");
        let e = parse_idx(&[0, 0, 8, 3, 0, 0], 3, p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("truncated IDX header"), "{e}");
    }

    #[test]
    fn cifar_checks() {
        let p = Path::new("b.bin");
        let mut rec = vec![3u8];
        rec.extend(std::iter::repeat_n(7u8, 3072));
        let imgs = parse_cifar(&rec, CifarKind::Cifar10, p).unwrap();
        assert_eq!((imgs.len(), imgs.labels[0]), (1, 3));
        assert!(parse_cifar(&rec[..100], CifarKind::Cifar10, p).is_err());
        rec[0] = 10;
        let e = parse_cifar(&rec, CifarKind::Cifar10, p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("out of range") && e.contains("b.bin"), "{e}");
    }

    #[test]
    fn locate_lists_every_place() {
        let debian = Path::new("/nonexistent-debian/fashion-mnist");
        let e = locate_in(DatasetName::Digits, None, None, debian)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--data-dir") && e.contains(DATA_ENV), "{e}");
        let e = locate_in(
            DatasetName::FashionMnist,
            Some(Path::new("/nonexistent")),
            None,
            debian,
        )
        .unwrap_err()
        .to_string();
        // An explicit data dir is the only place searched: no fallback to $NASBO_DATA or
        // Debian's folder.
        assert!(
            e.contains("/nonexistent")
                && e.contains("does not exist")
                && !e.contains("Debian's")
                && !e.contains(DATA_ENV),
            "{e}"
        );
        let e = locate_in(
            DatasetName::FashionMnist,
            None,
            Some(Path::new("rel")),
            debian,
        )
        .unwrap_err()
        .to_string();
        let abs = std::env::current_dir().unwrap().join("rel");
        assert!(
            e.contains(&abs.display().to_string())
                && e.contains("Debian's")
                && e.contains("/nonexistent-debian"),
            "{e}"
        );
    }

    #[test]
    fn crop_and_flip_keep_shape_and_identity_without_rng() {
        let images = Images {
            channels: 1,
            side: 2,
            pixels: vec![0, 1, 2, 3],
            labels: vec![1],
            classes: 2,
        };
        let splits = Splits {
            name: DatasetName::Digits,
            train: images.clone(),
            valid: images.clone(),
            test: images.clone(),
            normalizer: Normalizer {
                mean: vec![0.0],
                std: vec![1.0],
            },
            augment: true,
        };
        let b = splits.batch(&images, &[0], None);
        assert_eq!(b.pixels, vec![0.0, 1.0, 2.0, 3.0]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let b = splits.batch(&images, &[0, 0, 0], Some(&mut rng));
        assert_eq!(b.pixels.len(), 12);
        assert_eq!(b.shape, [3, 1, 2, 2]);
    }
}

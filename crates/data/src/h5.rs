//! Reading HDF5 files (the study's dataset files, NWB recordings) with
//! the pure-Rust `hdf5-reader`: typed reads that convert whatever width the
//! writer chose, with errors that name the file and the key.

use std::path::Path;

use hdf5_reader::{Datatype, Hdf5File};
use ndarray::{Array1, Array3, ArrayD, Ix1, Ix3};

use crate::DataError;

/// Opens `path` as an HDF5 file, or an error naming it.
pub(crate) fn open(path: &Path) -> Result<Hdf5File, DataError> {
    Hdf5File::open(path)
        .map_err(|e| DataError::corrupt(path, "(file)", format!("not a readable HDF5 file: {e}")))
}

/// A file open for reading, with the path and a description of its layout
/// for error messages.
pub(crate) struct H5<'a> {
    /// The file's path.
    pub(crate) path: &'a Path,
    /// The open file.
    pub(crate) file: &'a Hdf5File,
    /// Where the file's format keeps its arrays, in words (for errors about a missing key).
    pub(crate) layout: &'a str,
}

impl H5<'_> {
    pub(crate) fn dataset(&self, key: &str) -> Result<hdf5_reader::Dataset, DataError> {
        self.file.dataset(key).map_err(|e| {
            DataError::corrupt(
                self.path,
                key,
                format!("cannot be read ({e}); {}", self.layout),
            )
        })
    }

    pub(crate) fn shape(&self, key: &str) -> Vec<usize> {
        self.file
            .dataset(key)
            .map(|d| d.shape().iter().map(|&v| v as usize).collect())
            .unwrap_or_default()
    }

    pub(crate) fn shape_err(&self, key: &str, expected: &[usize], found: Vec<usize>) -> DataError {
        DataError::Shape {
            path: self.path.to_path_buf(),
            field: key.into(),
            expected: expected.to_vec(),
            found,
        }
    }

    pub(crate) fn corrupt(&self, key: &str, e: impl std::fmt::Display) -> DataError {
        DataError::corrupt(self.path, key, format!("cannot be decoded: {e}"))
    }

    /// Any float or integer dataset as f64.
    pub(crate) fn read_f64(&self, key: &str) -> Result<ArrayD<f64>, DataError> {
        let ds = self.dataset(key)?;
        let e = |err| self.corrupt(key, err);
        Ok(match ds.dtype() {
            Datatype::FloatingPoint { size: 8, .. } => ds.read_array::<f64>().map_err(e)?,
            Datatype::FloatingPoint { size: 4, .. } => {
                ds.read_array::<f32>().map_err(e)?.mapv(f64::from)
            }
            Datatype::FixedPoint { .. } => self.read_i64(key)?.into_dyn().mapv(|v| v as f64),
            other => {
                return Err(DataError::corrupt(
                    self.path,
                    key,
                    format!("holds {other:?}, expected floating-point numbers"),
                ))
            }
        })
    }

    /// Whether the file has a dataset at `key`.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.file.dataset(key).is_ok()
    }

    /// A one-dimensional integer dataset (any width, signed or not) as i64.
    pub(crate) fn read_i64(&self, key: &str) -> Result<Array1<i64>, DataError> {
        let ds = self.dataset(key)?;
        let e = |err| self.corrupt(key, err);
        let a: ArrayD<i64> = match ds.dtype() {
            Datatype::FixedPoint { size, signed, .. } => match (size, signed) {
                (1, true) => ds.read_array::<i8>().map_err(e)?.mapv(i64::from),
                (1, false) => ds.read_array::<u8>().map_err(e)?.mapv(i64::from),
                (2, true) => ds.read_array::<i16>().map_err(e)?.mapv(i64::from),
                (2, false) => ds.read_array::<u16>().map_err(e)?.mapv(i64::from),
                (4, true) => ds.read_array::<i32>().map_err(e)?.mapv(i64::from),
                (4, false) => ds.read_array::<u32>().map_err(e)?.mapv(i64::from),
                (8, true) => ds.read_array::<i64>().map_err(e)?,
                (8, false) => ds
                    .read_array::<u64>()
                    .map_err(e)?
                    .mapv(|v| v.min(i64::MAX as u64) as i64),
                _ => return Err(self.corrupt(key, format!("{size}-byte integers"))),
            },
            other => {
                return Err(DataError::corrupt(
                    self.path,
                    key,
                    format!("holds {other:?}, expected integers"),
                ))
            }
        };
        let found = a.shape().to_vec();
        a.into_dimensionality::<Ix1>()
            .map_err(|_| self.shape_err(key, &[found.first().copied().unwrap_or(0)], found))
    }

    /// A one-dimensional boolean dataset: h5py's and pynwb's booleans (an
    /// enum on a one-byte integer), or integers 0 / 1.
    pub(crate) fn read_bool(&self, key: &str) -> Result<Vec<bool>, DataError> {
        let ds = self.dataset(key)?;
        let shape = ds.shape().iter().map(|&v| v as usize).collect::<Vec<_>>();
        if shape.len() != 1 {
            return Err(self.shape_err(key, &[shape.first().copied().unwrap_or(0)], shape));
        }
        let values: Vec<i64> = match ds.dtype() {
            Datatype::Enum { base, .. }
                if matches!(**base, Datatype::FixedPoint { size: 1, .. }) =>
            {
                ds.read_raw_bytes()
                    .map_err(|err| self.corrupt(key, err))?
                    .into_iter()
                    .map(i64::from)
                    .collect()
            }
            Datatype::FixedPoint { .. } => self.read_i64(key)?.to_vec(),
            other => {
                return Err(DataError::corrupt(
                    self.path,
                    key,
                    format!("holds {other:?}, expected booleans"),
                ))
            }
        };
        if values.len() != shape[0] {
            return Err(self.shape_err(key, &shape, vec![values.len()]));
        }
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| match v {
                0 => Ok(false),
                1 => Ok(true),
                _ => Err(DataError::corrupt(
                    self.path,
                    key,
                    format!("element {i} is {v}, not a boolean"),
                )),
            })
            .collect()
    }

    pub(crate) fn read3(&self, key: &str, expected: [usize; 3]) -> Result<Array3<f64>, DataError> {
        let a = self.read_f64(key)?;
        let found = a.shape().to_vec();
        a.into_dimensionality::<Ix3>()
            .ok()
            .filter(|a| a.shape() == expected)
            .ok_or_else(|| self.shape_err(key, &expected, found))
    }
}

//! Tensor ↔ ndarray conversions for the analysis and data layers.

use ndarray::{Array3, ArrayView3};
use tch::{Device, Kind, Tensor};

use crate::ModelError;

/// Copies a 3-D tensor of any real kind and device into an `f64` array
/// (detached from autograd).
pub fn tensor_to_array3(t: &Tensor) -> Result<Array3<f64>, ModelError> {
    let size = t.size();
    if size.len() != 3 {
        return Err(ModelError::Shape {
            what: "tensor to convert",
            expected: "3-D".into(),
            found: size,
        });
    }
    let flat = t
        .f_detach()?
        .f_to_device(Device::Cpu)?
        .f_to_kind(Kind::Double)?
        .f_contiguous()?
        .f_flatten(0, -1)?;
    let data = Vec::<f64>::try_from(&flat)?;
    let shape = (size[0] as usize, size[1] as usize, size[2] as usize);
    Array3::from_shape_vec(shape, data).map_err(|e| ModelError::Shape {
        what: "tensor to convert",
        expected: e.to_string(),
        found: size,
    })
}

/// An `f32` tensor on `device` holding `a` (e.g. spike counts for the model).
pub fn array3_to_tensor(a: ArrayView3<'_, f64>, device: Device) -> Result<Tensor, ModelError> {
    let (d0, d1, d2) = a.dim();
    let data: Vec<f32> = a.iter().map(|&v| v as f32).collect();
    Ok(Tensor::f_from_slice(&data)?
        .f_reshape([d0 as i64, d1 as i64, d2 as i64])?
        .f_to_device(device)?)
}

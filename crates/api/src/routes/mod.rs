pub mod health;
pub mod targets;

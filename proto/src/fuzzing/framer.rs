//! Fuzz bodies: (being written).

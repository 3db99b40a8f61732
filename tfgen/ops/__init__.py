"""Small TensorFlow ops that several families share: seeded noise streams, precision,
learning-rate schedules."""

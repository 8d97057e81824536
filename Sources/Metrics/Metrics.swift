// Metrics: segmentation and slice-classification measures.

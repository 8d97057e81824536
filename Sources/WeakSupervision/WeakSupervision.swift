// WeakSupervision: from slice-level labels to voxel masks.

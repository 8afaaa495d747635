"""Image stage: scan the Kaggle image tree, embed photos with ResNet50V2, exact top-k SIMILAR neighbours."""

"""A COCO-pretrained detector that runs offline: NanoDet-m, a TF.js graph model run by torch."""

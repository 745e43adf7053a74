"""The corruptions of Corrupted CIFAR-10: noise, blur, weather, digital and frost, one module per family; the
registry and the parallel, per-image-seeded application in :mod:`gerne.data.corruptions.registry`. Nothing is
imported here, so reading the frost textures' source (the dataset registry does) loads no image library."""

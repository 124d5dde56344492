"""World Models (Ha & Schmidhuber 2018): V (`vae.ConvVAE`), M (`mdn_rnn.MDNRNN`) and C
(`controller.LinearController`), one `nn.Module` per file."""

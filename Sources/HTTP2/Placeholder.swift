// HTTP2: placeholder, replaced as the module is written.

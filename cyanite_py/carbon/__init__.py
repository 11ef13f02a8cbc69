"""Carbon's plaintext protocol, with no event loop in it: the line grammar (`lines`), the
column-wise reader for plain chunks (`plain`), the frames between the server and its
parse workers (`frames`), and the worker process itself (`worker`). The listeners that use
them are in `cyanite_py.inputs`."""

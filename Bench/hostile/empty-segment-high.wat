(module (memory 65411) (data (i32.const 3200000000) "") (func (export "f")))

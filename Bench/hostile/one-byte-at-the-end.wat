(module (memory 8192) (data (i32.const 536870911) "x") (func (export "f")))

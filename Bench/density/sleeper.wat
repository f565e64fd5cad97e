(module
  (import "shoal" "sleep_ms" (func $sleep (param i32)))
  (memory 1)
  (func (export "run") (param $ms i32) (result i32)
    local.get $ms call $sleep
    i32.const 42))

/**
 * protobufjs runtime settings shared by every generated module: int64 fields decode to plain numbers
 * (sizes and offsets stay far below 2^53), not Long objects. Import this before any generated code.
 */
import protobuf from "protobufjs/minimal.js";

(protobuf.util as { Long: unknown }).Long = undefined;
protobuf.configure();

export { protobuf };

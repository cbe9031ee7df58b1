/**
 * The one place that loads onnxruntime-node. ORT 1.30 on Linux starts a telemetry client (it tries HTTPS
 * uploads and leaves an empty /tmp/mat-debug-PID.log per process); minivl turns it off unless the user set
 * ORT_DISABLE_TELEMETRY themselves. The variable must be set before the library loads, hence this module.
 */
import './ort-env.ts';

export { default } from 'onnxruntime-node';

export * from './tcp-stream.js';

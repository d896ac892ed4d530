declare module 'cluster-key-slot' {
  /** CRC16 hash slot of a key, honouring `{hash tags}`. */
  function calculateSlot(key: string | Buffer): number;
  namespace calculateSlot {
    function generateMulti(keys: (string | Buffer)[]): number;
  }
  export default calculateSlot;
}

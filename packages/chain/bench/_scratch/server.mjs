import http from 'node:http';
const s = http.createServer((req, res) => {
  let b = '';
  req.on('data', (c) => (b += c));
  req.on('end', () => {
    const j = JSON.parse(b);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ jsonrpc: '2.0', id: j.id, result: '0x' + 'ab'.repeat(32) }));
  });
});
s.keepAliveTimeout = 60000;
s.listen(18600, '127.0.0.1');

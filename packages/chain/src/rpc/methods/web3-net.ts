import { z } from 'zod';
import { keccak256 } from '../../crypto/native.ts';
import type { Node } from '../../node.ts';
import type { Method } from '../dispatcher.ts';
import { method } from '../dispatcher.ts';
import { data, quantity } from '../hex.ts';
import { hexData } from '../params.ts';
import { hexToBytes } from '@ethereumjs/util';

export const CLIENT_VERSION = `OpenLedger/v0.1.0/${process.platform}-${process.arch}/node${process.versions.node}`;

export function web3NetMethods(node: Node, peerCount: () => number = () => 0): Record<string, Method> {
  return {
    web3_clientVersion: method([], () => CLIENT_VERSION),
    web3_sha3: method([hexData], ([input]) => data(keccak256(hexToBytes(input)))),
    net_version: method([], () => node.common.chainId().toString()),
    net_listening: method([], () => true),
    net_peerCount: method([], () => quantity(peerCount())),
    eth_chainId: method([], () => quantity(node.common.chainId())),
    eth_syncing: method([], () => false),
    eth_blockNumber: method([], () => quantity(node.chain.head.header.number)),
    eth_mining: method([], () => true),
    eth_hashrate: method([], () => '0x0'),
    eth_protocolVersion: method([], () => '0x44'),
    rpc_modules: method(
      [z.unknown()],
      () => ({ eth: '1.0', net: '1.0', web3: '1.0', debug: '1.0', txpool: '1.0' }),
      0,
    ),
  };
}

/**
 * Referential checks of registry changes: a contract's customer must exist and its devices must belong to that
 * customer; a device's customer must exist and its contracts must be its customer's. REFERENCE_INVALID (422)
 * naming the field.
 */
import { AppError, ErrorCode } from '../../protocols/errors.ts';
import type { ContractConfig, DeviceConfig } from '../config.ts';
import type { Registry } from './registry.ts';

export function checkContractReferences(
  registry: Registry,
  customers: { exists(id: string): boolean },
  contract: ContractConfig,
): void {
  if (!customers.exists(contract.customer))
    throw new AppError(ErrorCode.REFERENCE_INVALID, `customer: no customer "${contract.customer}"`);
  contract.serials.forEach((serial, i) => {
    const device = registry.get(serial);
    if (device !== undefined && device.customer !== contract.customer) {
      throw new AppError(
        ErrorCode.REFERENCE_INVALID,
        `serials[${i}]: device "${serial}" belongs to customer "${device.customer}", not "${contract.customer}"`,
      );
    }
  });
}

export function checkDeviceReferences(
  registry: Registry,
  customers: { exists(id: string): boolean },
  device: DeviceConfig,
): void {
  if (!customers.exists(device.customer))
    throw new AppError(ErrorCode.REFERENCE_INVALID, `customer: no customer "${device.customer}"`);
  for (const contract of registry.listContracts(Date.now())) {
    if (contract.serials.includes(device.serial) && contract.customer !== device.customer) {
      throw new AppError(
        ErrorCode.REFERENCE_INVALID,
        `customer: device "${device.serial}" is on contract "${contract.number}" of customer "${contract.customer}"`,
      );
    }
  }
}

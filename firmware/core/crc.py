"""CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over a buffer slice. No allocation, no table."""


def crc16(buf, start=0, end=-1, crc=0xFFFF):
    if end < 0:
        end = len(buf)
    for i in range(start, end):
        crc ^= buf[i] << 8
        for _ in range(8):
            if crc & 0x8000:
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF
            else:
                crc = (crc << 1) & 0xFFFF
    return crc
